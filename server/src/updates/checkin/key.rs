//! The server's online check-in key: the key that signs check-in answers
//! (never bundles), read from `signing.key_file` — by default
//! `wavecast-keys/checkin.key`, where `wavecast keys init` writes it.
//!
//! A key file that exists but cannot be read stops the start. A key file
//! that does not exist yet does not: the server starts, says loudly that
//! boxes cannot be answered and how to fix it, and loads the key as soon
//! as it appears (an operator who runs `wavecast keys init` after starting
//! the server needs no restart). Until then check-ins answer 503 naming
//! the setting.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use arc_swap::ArcSwapOption;
use ed25519_dalek::SigningKey;
use wavecast_protocol::keys::{key_id, PrivateKeyFile};

use super::signer::BatchSigner;

/// How often a missing key file is looked for again.
const RETRY: Duration = Duration::from_secs(2);

/// A loaded check-in key and the thread that signs answers in batches.
#[derive(Debug)]
pub struct Loaded {
    pub key: Arc<SigningKey>,
    pub keyid: String,
    pub signer: BatchSigner,
}

/// The online key, loaded or awaited.
#[derive(Debug)]
pub struct OnlineKey {
    path: Option<PathBuf>,
    loaded: ArcSwapOption<Loaded>,
    next_try: Mutex<Instant>,
}

/// Reads a private key file.
pub fn read_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    let (key, _) = PrivateKeyFile::parse(&text)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("key file {}", path.display()))?;
    Ok(key)
}

fn load(path: &Path) -> anyhow::Result<Loaded> {
    let key = Arc::new(read_key(path)?);
    let signer =
        BatchSigner::start(key.clone()).context("cannot start the check-in signing thread")?;
    Ok(Loaded {
        keyid: key_id(&key.verifying_key()),
        key,
        signer,
    })
}

impl OnlineKey {
    /// Opens the key at `path` (`signing.key_file`). Fails only when the
    /// file exists and is not a key.
    pub fn open(path: Option<PathBuf>) -> anyhow::Result<Self> {
        let loaded = match &path {
            Some(p) if p.exists() => {
                let l = load(p).with_context(|| format!("signing.key_file {}", p.display()))?;
                tracing::info!(key = %l.keyid, file = %p.display(), "check-in answers are signed with this key");
                Some(Arc::new(l))
            }
            Some(p) => {
                tracing::warn!(
                    file = %p.display(),
                    "NO CHECK-IN KEY: boxes cannot be answered until {} exists. Run `wavecast keys init` \
                     in the server's directory (it writes wavecast-keys/checkin.key) and `wavecast keys \
                     publish`, or point signing.key_file at the online check-in key",
                    p.display()
                );
                None
            }
            None => {
                tracing::warn!(
                    "NO CHECK-IN KEY: signing.key_file is not set, so boxes cannot be answered; \
                     set it to the online check-in key (`wavecast keys init` writes one)"
                );
                None
            }
        };
        Ok(Self {
            path,
            loaded: ArcSwapOption::new(loaded),
            next_try: Mutex::new(Instant::now() + RETRY),
        })
    }

    /// A key already in memory (tests, tools).
    pub fn with(key: Arc<SigningKey>) -> anyhow::Result<Self> {
        let signer = BatchSigner::start(key.clone())?;
        Ok(Self {
            path: None,
            loaded: ArcSwapOption::new(Some(Arc::new(Loaded {
                keyid: key_id(&key.verifying_key()),
                key,
                signer,
            }))),
            next_try: Mutex::new(Instant::now()),
        })
    }

    /// The key, if loaded; a missing key file is looked for again at most
    /// every [`RETRY`].
    pub fn get(&self) -> Option<Arc<Loaded>> {
        if let Some(l) = self.loaded.load_full() {
            return Some(l);
        }
        let path = self.path.as_ref()?;
        {
            let mut next = self
                .next_try
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if Instant::now() < *next {
                return None;
            }
            *next = Instant::now() + RETRY;
        }
        if !path.exists() {
            return None;
        }
        match load(path) {
            Ok(l) => {
                tracing::info!(key = %l.keyid, file = %path.display(), "check-in key found; boxes are answered from now on");
                let l = Arc::new(l);
                self.loaded.store(Some(l.clone()));
                Some(l)
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "the check-in key file cannot be read");
                None
            }
        }
    }

    /// Where the key is read from.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_that_appears_later_is_picked_up() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("checkin.key");
        let online = OnlineKey::open(Some(path.clone())).expect("a missing file is no error");
        assert!(online.get().is_none());
        let key = SigningKey::from_bytes(&[7; 32]);
        std::fs::write(
            &path,
            serde_json::to_string(&PrivateKeyFile::new(&key, "checkin")).expect("json"),
        )
        .expect("write");
        *online.next_try.lock().expect("lock") = Instant::now();
        let got = online.get().expect("loaded once it exists");
        assert_eq!(got.keyid, key_id(&key.verifying_key()));
    }

    #[test]
    fn a_broken_key_file_stops_the_start() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("checkin.key");
        std::fs::write(&path, "not a key").expect("write");
        let e = OnlineKey::open(Some(path)).expect_err("refused");
        assert!(format!("{e:#}").contains("signing.key_file"), "{e:#}");
    }
}
