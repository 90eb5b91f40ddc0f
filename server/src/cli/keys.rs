//! `wavecast keys`: the offline key hierarchy. The root key signs keyrings;
//! keyrings list the online signing keys and what each may sign.
//!
//! Everything here works on local files (default directory `wavecast-keys`)
//! so the root key can live on a machine that never touches the network;
//! `keys publish` is the one command that talks to the server.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context as _};
use clap::Subcommand;
use ed25519_dalek::SigningKey;
use reqwest::Method;
use wavecast_protocol::{
    envelope::Envelope,
    keyring::{open_keyring, KeyRole, Keyring},
    keys::{key_id, public_key_text, PrivateKeyFile},
};

use super::{Api, TopApi};
use crate::updates::views::{KeyringView, PublishKeyring};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create the root key, a release key (signs bundles), the server's
    /// check-in key (signs check-in answers) and keyring version 1.
    Init {
        /// Where the keys are written.
        #[arg(long, default_value = "wavecast-keys")]
        dir: PathBuf,
        /// Days until the keyring expires.
        #[arg(long, default_value_t = 365)]
        expires_in_days: u32,
    },
    /// Add a new signing key in a new keyring version (needs the root key).
    Rotate {
        /// The keys directory.
        #[arg(long, default_value = "wavecast-keys")]
        dir: PathBuf,
        /// The root private key (default DIR/root.key).
        #[arg(long)]
        root_key: Option<PathBuf>,
        /// What the new key may sign (comma-separated: firmware,codec,drm,app,config;
        /// or checkin,licence for a new online key: check-in answers and licence tokens).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "firmware,codec,drm,app,config"
        )]
        roles: Vec<KeyRole>,
        /// Days until the new keyring version expires.
        #[arg(long, default_value_t = 365)]
        expires_in_days: u32,
    },
    /// Withdraw a signing key in a new keyring version (needs the root key).
    Revoke {
        /// The key id, or a unique prefix of it.
        keyid: String,
        /// The keys directory.
        #[arg(long, default_value = "wavecast-keys")]
        dir: PathBuf,
        /// The root private key (default DIR/root.key).
        #[arg(long)]
        root_key: Option<PathBuf>,
        /// Days until the new keyring version expires.
        #[arg(long, default_value_t = 365)]
        expires_in_days: u32,
    },
    /// Show the local keyring, or the server's with --remote.
    Show {
        /// The keys directory.
        #[arg(long, default_value = "wavecast-keys")]
        dir: PathBuf,
        /// Show the keyring the server trusts instead.
        #[arg(long)]
        remote: bool,
        #[command(flatten)]
        api: Api,
    },
    /// Upload the local keyring (and, the first time, the root public key) to the server.
    Publish {
        /// The keys directory.
        #[arg(long, default_value = "wavecast-keys")]
        dir: PathBuf,
        #[command(flatten)]
        api: Api,
    },
}

/// The release key's file in the keys directory: it signs bundles.
pub const RELEASE_KEY: &str = "release.key";
/// The server's online check-in key's file: it signs check-in answers.
pub const CHECKIN_KEY: &str = "checkin.key";

/// Writes a file readable only by its owner.
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Reads a private key file (the same reader the server's check-in key
/// goes through).
pub use crate::updates::checkin::key::read_key as read_private;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn expiry(days: u32) -> i64 {
    now() + i64::from(days) * 86_400
}

fn generate() -> SigningKey {
    SigningKey::generate(&mut rand::rngs::OsRng)
}

fn read_keyring(dir: &Path) -> anyhow::Result<Envelope> {
    let path = dir.join("keyring.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {} (run `wavecast keys init`)", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a keyring", path.display()))
}

fn write_keyring(dir: &Path, env: &Envelope) -> anyhow::Result<()> {
    let path = dir.join("keyring.json");
    let tmp = dir.join("keyring.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(env)?)?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
}

/// Loads the current keyring under the root key and returns the next version.
fn next_version(dir: &Path, root: &SigningKey, days: u32) -> anyhow::Result<Keyring> {
    let env = read_keyring(dir)?;
    let mut kr = open_keyring(&root.verifying_key(), &env).map_err(|e| {
        anyhow::anyhow!("the local keyring does not verify under this root key: {e}")
    })?;
    kr.version += 1;
    kr.expires_at = expiry(days);
    Ok(kr)
}

/// A keyring as `keys show --json` prints it.
#[derive(Debug, serde::Serialize)]
struct Shown<'a> {
    root_keyid: String,
    version: u64,
    expires_at: String,
    keys: Vec<ShownKey<'a>>,
    revoked: &'a std::collections::BTreeSet<String>,
}

#[derive(Debug, serde::Serialize)]
struct ShownKey<'a> {
    keyid: &'a str,
    name: &'a str,
    roles: Vec<&'a str>,
}

fn show(json: bool, root: &ed25519_dalek::VerifyingKey, kr: &Keyring) {
    if !json {
        crate::outln!("root key {}", key_id(root));
        describe(kr);
        return;
    }
    super::output::json(&Shown {
        root_keyid: key_id(root),
        version: kr.version,
        expires_at: chrono::DateTime::from_timestamp(kr.expires_at, 0)
            .map_or_else(|| kr.expires_at.to_string(), |t| t.to_rfc3339()),
        keys: kr
            .keys
            .iter()
            .map(|k| ShownKey {
                keyid: &k.keyid,
                name: &k.name,
                roles: k
                    .roles
                    .iter()
                    .map(|r| r.as_str())
                    .chain(k.other_roles.iter().map(String::as_str))
                    .collect(),
            })
            .collect(),
        revoked: &kr.revoked,
    });
}

fn describe(kr: &Keyring) {
    crate::outln!("keyring version {}", kr.version);
    let until = chrono::DateTime::from_timestamp(kr.expires_at, 0)
        .map_or_else(|| kr.expires_at.to_string(), |t| t.to_rfc3339());
    crate::outln!("  expires: {until}");
    for k in &kr.keys {
        let roles: Vec<&str> = k.roles.iter().map(|r| r.as_str()).collect();
        crate::outln!(
            "  key {}  {:<16} may sign: {}",
            k.keyid,
            k.name,
            roles.join(", ")
        );
    }
    for r in &kr.revoked {
        crate::outln!("  revoked {r}");
    }
}

pub async fn run(top: &TopApi, cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Init {
            dir,
            expires_in_days,
        } => {
            if dir.join("root.key").exists() {
                bail!(
                    "{} already holds a root key; refusing to overwrite it",
                    dir.display()
                );
            }
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let root = generate();
            let release = generate();
            let checkin = generate();
            let mut kr = Keyring::new(1, expiry(expires_in_days));
            kr.add(&release.verifying_key(), KeyRole::BUNDLES, "release-1");
            kr.add(
                &checkin.verifying_key(),
                [KeyRole::Checkin, KeyRole::Licence],
                "checkin-1",
            );
            let env = kr.sign(&root)?;
            write_private(
                &dir.join("root.key"),
                &serde_json::to_string_pretty(&PrivateKeyFile::new(&root, "root"))?,
            )?;
            std::fs::write(
                dir.join("root.pub"),
                format!("{}\n", public_key_text(&root.verifying_key())),
            )?;
            write_private(
                &dir.join(RELEASE_KEY),
                &serde_json::to_string_pretty(&PrivateKeyFile::new(&release, "release-1"))?,
            )?;
            write_private(
                &dir.join(CHECKIN_KEY),
                &serde_json::to_string_pretty(&PrivateKeyFile::new(&checkin, "checkin-1"))?,
            )?;
            write_keyring(&dir, &env)?;
            crate::outln!("root key     {}", key_id(&root.verifying_key()));
            crate::outln!("release key  {}", key_id(&release.verifying_key()));
            crate::outln!("check-in key {}", key_id(&checkin.verifying_key()));
            describe(&kr);
            eprintln!(
                "\nThe root PRIVATE key is in {root}.\nMove it offline now (an encrypted USB stick, a safe): \
                 it is needed only to rotate or revoke keys, and whoever holds it controls what every \
                 box will trust.\nBoxes pin {public} (the root PUBLIC key).\n\
                 {release} signs bundles (`wavecast bundle build`): keep it with the release manager.\n\
                 {checkin} is the server's online key: it signs check-in answers and licence tokens only; `wavecast serve` \
                 run from this directory finds it (signing.key_file).\n\
                 Next: `wavecast keys publish` uploads the keyring to the server.",
                root = dir.join("root.key").display(),
                public = dir.join("root.pub").display(),
                release = dir.join(RELEASE_KEY).display(),
                checkin = dir.join(CHECKIN_KEY).display(),
            );
            Ok(())
        }
        KeysCommand::Rotate {
            dir,
            root_key,
            roles,
            expires_in_days,
        } => {
            let root = read_private(&root_key.unwrap_or_else(|| dir.join("root.key")))?;
            let mut kr = next_version(&dir, &root, expires_in_days)?;
            let key = generate();
            let kind = if roles
                .iter()
                .all(|r| matches!(r, KeyRole::Checkin | KeyRole::Licence))
            {
                "checkin"
            } else {
                "release"
            };
            let name = format!("{kind}-{}", kr.version);
            kr.add(&key.verifying_key(), roles, &name);
            let path = dir.join(format!("{name}.key"));
            write_private(
                &path,
                &serde_json::to_string_pretty(&PrivateKeyFile::new(&key, &name))?,
            )?;
            write_keyring(&dir, &kr.sign(&root)?)?;
            crate::outln!(
                "new signing key {} in {}",
                key_id(&key.verifying_key()),
                path.display()
            );
            describe(&kr);
            eprintln!("Publish it with `wavecast keys publish`; revoke the old key once nothing signs with it.");
            Ok(())
        }
        KeysCommand::Revoke {
            keyid,
            dir,
            root_key,
            expires_in_days,
        } => {
            let root = read_private(&root_key.unwrap_or_else(|| dir.join("root.key")))?;
            let mut kr = next_version(&dir, &root, expires_in_days)?;
            let matches: Vec<String> = kr
                .keys
                .iter()
                .filter(|k| k.keyid.starts_with(&keyid))
                .map(|k| k.keyid.clone())
                .collect();
            let full = match matches.as_slice() {
                [one] => one.clone(),
                [] => bail!("no key in the keyring starts with {keyid:?}"),
                _ => bail!("{keyid:?} matches several keys; give more of the id"),
            };
            kr.revoke(&full);
            write_keyring(&dir, &kr.sign(&root)?)?;
            crate::outln!("revoked {full}");
            describe(&kr);
            eprintln!("Publish it with `wavecast keys publish`: bundles signed by this key are then refused.");
            Ok(())
        }
        KeysCommand::Show { dir, remote, api } => {
            let api = api.over(top);
            let json = api.json;
            if remote {
                let client = api.client()?;
                let view: KeyringView = client.get("api/v1/keyring", &[]).await?;
                let root = wavecast_protocol::keys::parse_public_key(&view.root_public_key)
                    .map_err(anyhow::Error::msg)?;
                show(json, &root, &open_keyring(&root, &view.envelope)?);
            } else {
                let env = read_keyring(&dir)?;
                let root_text = std::fs::read_to_string(dir.join("root.pub"))
                    .with_context(|| format!("cannot read {}", dir.join("root.pub").display()))?;
                let root = wavecast_protocol::keys::parse_public_key(&root_text)
                    .map_err(anyhow::Error::msg)?;
                show(json, &root, &open_keyring(&root, &env)?);
            }
            Ok(())
        }
        KeysCommand::Publish { dir, api } => {
            let client = api.over(top).client()?;
            let keyring = read_keyring(&dir)?;
            let root_public_key = std::fs::read_to_string(dir.join("root.pub"))
                .with_context(|| format!("cannot read {}", dir.join("root.pub").display()))?
                .trim()
                .to_owned();
            let body = PublishKeyring {
                root_public_key,
                keyring,
            };
            let view: KeyringView = client
                .send(Method::PUT, "api/v1/keyring", &[], Some(&body))
                .await?;
            crate::outln!(
                "the server now trusts keyring version {} (root {})",
                view.version,
                view.root_keyid
            );
            Ok(())
        }
    }
}
