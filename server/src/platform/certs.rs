//! Certificates the server presents (HTTPS and MQTT over TLS): a PEM
//! chain and its key, read at start and read again when either file
//! changes, so a renewed certificate is served without a restart (new
//! connections get it; open ones keep theirs). A file that cannot be read
//! at start stops the start; a renewal that cannot be read is logged and
//! the certificate in use stays.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use anyhow::Context as _;
use arc_swap::ArcSwap;
use rustls::{
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
};

/// A certificate chain and its private key, as PEM files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// How often the files are looked at for a renewal.
const WATCH: Duration = Duration::from_secs(2);

/// Reads a chain and its key into what rustls serves.
fn load(files: &CertFiles) -> anyhow::Result<CertifiedKey> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert_file)
        .with_context(|| format!("cannot read {}", files.cert_file.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!(
                "{} is not a PEM certificate chain",
                files.cert_file.display()
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!("{} holds no certificate", files.cert_file.display());
    }
    let key = PrivateKeyDer::from_pem_file(&files.key_file)
        .with_context(|| format!("{} is not a PEM private key", files.key_file.display()))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .with_context(|| format!("{}: unsupported key type", files.key_file.display()))?;
    let certified = CertifiedKey::new(certs, signing);
    certified.keys_match().with_context(|| {
        format!(
            "{} does not belong to {}",
            files.key_file.display(),
            files.cert_file.display()
        )
    })?;
    Ok(certified)
}

/// When each file last changed, to notice a renewal.
fn stamp(paths: [&Path; 2]) -> [Option<(SystemTime, u64)>; 2] {
    paths.map(|p| {
        std::fs::metadata(p)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())))
    })
}

/// The certificate served now, swapped when the files change.
#[derive(Debug)]
pub struct ReloadingCert {
    files: CertFiles,
    current: ArcSwap<CertifiedKey>,
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

impl ReloadingCert {
    /// Reads the files now; fails when they cannot be served.
    pub fn open(files: CertFiles) -> anyhow::Result<Arc<Self>> {
        let current = load(&files)?;
        Ok(Arc::new(Self {
            files,
            current: ArcSwap::from_pointee(current),
        }))
    }

    /// Looks at the files every [`WATCH`] and serves a renewed pair once it
    /// reads; runs until the process ends.
    pub fn watch(self: Arc<Self>) {
        tokio::spawn(async move {
            let paths = [
                self.files.cert_file.as_path(),
                self.files.key_file.as_path(),
            ];
            let mut seen = stamp(paths);
            let mut tick = tokio::time::interval(WATCH);
            loop {
                tick.tick().await;
                let now = stamp(paths);
                if now == seen {
                    continue;
                }
                match load(&self.files) {
                    Ok(certified) => {
                        self.current.store(Arc::new(certified));
                        seen = now;
                        tracing::info!(
                            cert = %self.files.cert_file.display(),
                            "the renewed certificate is served to new connections"
                        );
                    }
                    // A pair half written (the certificate before its key)
                    // is read again at the next look.
                    Err(e) => tracing::warn!(
                        error = %format!("{e:#}"),
                        "the changed certificate files cannot be served yet; the old certificate stays"
                    ),
                }
            }
        });
    }
}
