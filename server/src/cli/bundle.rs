//! `wavecast bundle`: build (offline signing), verify, upload with progress,
//! and the server-side list/show/publish/deprecate/revoke.

use std::{
    fs::File,
    io::{BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
};

use anyhow::{bail, Context as _};
use clap::Subcommand;
use futures_util::TryStreamExt;
use reqwest::Method;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use wavecast_protocol::{
    bundle::{encode_header, Header},
    envelope::Envelope,
    keyring::{sign_manifest, unsigned_manifest, Keyring},
    keys::{key_id, parse_public_key},
    manifest::{
        Artifact, Compatibility, Compression, Kind, Manifest, Requirement, MANIFEST_FORMAT,
    },
    Sha256Digest,
};

use super::{
    bundle_verify::{verify, Refusal},
    client::Client,
    keys::read_private,
    output, Api, TopApi,
};
use crate::updates::views::{BundleActionRequest, BundleView};

#[derive(Debug, Subcommand)]
pub enum BundleCommand {
    /// Build a signed bundle file from a spec (bundle.toml).
    Build {
        /// The bundle spec (see the README's example).
        #[arg(long)]
        spec: PathBuf,
        /// Release key that signs it (default wavecast-keys/release.key, or
        /// wavecast-keys/signing.key from keys made before the split).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Keyring to embed (default wavecast-keys/keyring.json).
        #[arg(long)]
        keyring: Option<PathBuf>,
        /// Leave the manifest unsigned, for `upload --sign-on-server`.
        #[arg(long)]
        unsigned: bool,
        /// Output file (default NAME-VERSION.wcb beside the spec).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a bundle file against a root public key and print a report.
    Verify {
        /// The bundle file (`.wcb`).
        file: PathBuf,
        /// The root public key: a file (root.pub) or its base64 text.
        #[arg(long)]
        root: String,
        /// Print the report as JSON (a refusal too, before failing).
        #[arg(long)]
        json: bool,
    },
    /// Upload a bundle file to the server.
    Upload {
        /// The bundle file (`.wcb`).
        file: PathBuf,
        /// Have the server sign the manifest (it needs signing.bundle_key_file).
        #[arg(long)]
        sign_on_server: bool,
        #[command(flatten)]
        api: Api,
    },
    /// List bundles on the server.
    List {
        /// firmware, codec, drm, app or config.
        #[arg(long)]
        kind: Option<String>,
        /// staged, published, deprecated or revoked.
        #[arg(long)]
        state: Option<String>,
        /// Only bundles of this name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        api: Api,
    },
    /// Show a bundle (by id or NAME@VERSION).
    Show {
        /// The bundle's id or NAME@VERSION.
        reference: String,
        #[command(flatten)]
        api: Api,
    },
    /// Make a staged bundle available to rollouts.
    Publish {
        /// The bundle's id or NAME@VERSION.
        reference: String,
        /// Why, for the audit log.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        api: Api,
    },
    /// Take a bundle out of new rollouts.
    Deprecate {
        /// The bundle's id or NAME@VERSION.
        reference: String,
        /// Why, for the audit log.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        api: Api,
    },
    /// Withdraw a bundle for good.
    Revoke {
        /// The bundle's id or NAME@VERSION.
        reference: String,
        /// Why, for the audit log.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        api: Api,
    },
}

/// A bundle spec (`bundle.toml`). Artifact paths are relative to the spec.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub kind: Kind,
    pub name: String,
    pub version: semver::Version,
    pub security_version: u64,
    pub compatible: Vec<Compatibility>,
    #[serde(default)]
    pub requires: Vec<Requirement>,
    pub artifacts: Vec<SpecArtifact>,
    #[serde(default)]
    pub licensed_product: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecArtifact {
    pub name: String,
    pub file: PathBuf,
    pub target: String,
    #[serde(default)]
    pub compression: Compression,
}

fn hash_file(path: &Path) -> anyhow::Result<(u64, Sha256Digest)> {
    let mut f = BufReader::with_capacity(
        1 << 20,
        File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
    );
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hasher.finalize().into()))
}

/// Refuses to sign with a key the embedded keyring would not accept for
/// `kind`: revoked, absent, without the role, or under an expired keyring.
/// The keyring is read as written (its root signature is the server's and
/// the boxes' to check); this only saves building a bundle every box refuses.
fn may_sign(keyring: &Envelope, key: &ed25519_dalek::SigningKey, kind: Kind) -> anyhow::Result<()> {
    let kr: Keyring = serde_json::from_slice(&keyring.payload_bytes()?)
        .context("the keyring to embed is not a keyring")?;
    kr.may_sign(
        &key_id(&key.verifying_key()),
        kind,
        chrono::Utc::now().timestamp(),
    )
    .map_err(|e| anyhow::anyhow!("refusing to sign: {e}"))
}

/// Builds a bundle file from a spec. `key` signs the manifest (offline
/// signing); `None` leaves it unsigned for the server to sign. Returns the
/// output path and the manifest.
pub fn build(
    spec_path: &Path,
    key: Option<&ed25519_dalek::SigningKey>,
    keyring: &Envelope,
    out: Option<&Path>,
) -> anyhow::Result<(PathBuf, Manifest)> {
    let text = std::fs::read_to_string(spec_path)
        .with_context(|| format!("cannot read spec {}", spec_path.display()))?;
    let spec: Spec =
        toml::from_str(&text).with_context(|| format!("spec {}", spec_path.display()))?;
    let base = spec_path.parent().unwrap_or(Path::new("."));
    let mut files = Vec::new();
    let mut artifacts = Vec::new();
    for a in &spec.artifacts {
        let path = base.join(&a.file);
        let (size, sha256) = hash_file(&path)?;
        artifacts.push(Artifact {
            name: a.name.clone(),
            size,
            sha256,
            target: a.target.clone(),
            compression: a.compression,
        });
        files.push(path);
    }
    let manifest = Manifest {
        format: MANIFEST_FORMAT,
        kind: spec.kind,
        name: spec.name,
        version: spec.version,
        security_version: spec.security_version,
        compatible: spec.compatible,
        requires: spec.requires,
        artifacts,
        licensed_product: spec.licensed_product,
        created_at: chrono::Utc::now().timestamp(),
        description: spec.description,
    };
    manifest
        .check()
        .map_err(anyhow::Error::msg)
        .context("the spec is not a valid bundle")?;
    let envelope = match key {
        Some(k) => {
            may_sign(keyring, k, manifest.kind)?;
            sign_manifest(&manifest, k)?
        }
        None => unsigned_manifest(&manifest)?,
    };
    let header = encode_header(&Header {
        keyring: keyring.clone(),
        manifest: envelope,
    })?;
    let out = out.map_or_else(
        || base.join(format!("{}-{}.wcb", manifest.name, manifest.version)),
        Path::to_path_buf,
    );
    let tmp = out.with_extension("wcb.partial");
    {
        let mut w = BufWriter::with_capacity(
            1 << 20,
            File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?,
        );
        w.write_all(&header)?;
        for (path, a) in files.iter().zip(&manifest.artifacts) {
            let copied = std::io::copy(&mut File::open(path)?, &mut w)?;
            if copied != a.size {
                bail!(
                    "{} changed while the bundle was being built",
                    path.display()
                );
            }
        }
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    std::fs::rename(&tmp, &out)?;
    Ok((out, manifest))
}

async fn upload(
    client: &Client,
    file: &Path,
    sign_on_server: bool,
) -> anyhow::Result<(u16, BundleView)> {
    let f = tokio::fs::File::open(file)
        .await
        .with_context(|| format!("cannot open {}", file.display()))?;
    let len = f.metadata().await?.len();
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = bar.clone();
    let stream = tokio_util::io::ReaderStream::with_capacity(f, 256 * 1024)
        .inspect_ok(move |chunk| progress.inc(chunk.len() as u64));
    let query: Vec<(&str, String)> = if sign_on_server {
        vec![("sign", "server".into())]
    } else {
        vec![]
    };
    let result = client
        .upload(
            "api/v1/bundles",
            &query,
            reqwest::Body::wrap_stream(stream),
            len,
        )
        .await;
    bar.finish_and_clear();
    result
}

fn rows(bundles: &[BundleView]) -> Vec<Vec<String>> {
    bundles
        .iter()
        .map(|b| {
            vec![
                b.id.to_string(),
                b.name.clone(),
                b.version.clone(),
                b.kind.to_string(),
                b.state.to_string(),
                b.security_version.to_string(),
                b.payload_size.to_string(),
                output::time(Some(b.created_at)),
            ]
        })
        .collect()
}
const HEADER: &[&str] = &[
    "ID", "NAME", "VERSION", "KIND", "STATE", "SECURITY", "BYTES", "CREATED",
];

fn show(json: bool, b: &BundleView) {
    if json {
        output::print(true, b, &[], vec![]);
        return;
    }
    output::print(false, b, HEADER, rows(std::slice::from_ref(b)));
    for a in &b.artifacts {
        crate::outln!(
            "  {:<24} {:>12} bytes  sha256 {}  -> {}",
            a.name,
            a.size,
            a.sha256,
            a.target
        );
    }
}

pub async fn run(top: &TopApi, cmd: BundleCommand) -> anyhow::Result<()> {
    match cmd {
        BundleCommand::Build {
            spec,
            key,
            keyring,
            unsigned,
            out,
        } => {
            let keyring_path =
                keyring.unwrap_or_else(|| PathBuf::from("wavecast-keys/keyring.json"));
            let keyring: Envelope = serde_json::from_str(
                &std::fs::read_to_string(&keyring_path)
                    .with_context(|| format!("cannot read keyring {}", keyring_path.display()))?,
            )?;
            let key = if unsigned {
                None
            } else {
                let default = || {
                    let release = PathBuf::from("wavecast-keys").join(super::keys::RELEASE_KEY);
                    let old = PathBuf::from("wavecast-keys/signing.key");
                    if !release.exists() && old.exists() {
                        old
                    } else {
                        release
                    }
                };
                Some(read_private(&key.unwrap_or_else(default))?)
            };
            let (path, m) = build(&spec, key.as_ref(), &keyring, out.as_deref())?;
            crate::outln!("{}", path.display());
            eprintln!(
                "built {} {} ({}, {} artifact(s), {} bytes){}",
                m.name,
                m.version,
                m.kind,
                m.artifacts.len(),
                m.payload_size(),
                if unsigned {
                    ", unsigned: upload it with --sign-on-server"
                } else {
                    ""
                }
            );
        }
        BundleCommand::Verify { file, root, json } => {
            let text = if Path::new(&root).is_file() {
                std::fs::read_to_string(&root)?
            } else {
                root
            };
            let root = parse_public_key(&text)
                .map_err(anyhow::Error::msg)
                .context("--root")?;
            let json = json || top.json;
            match verify(&file, &root) {
                Ok(report) if json => output::json(&report),
                Ok(report) => output::text(&report.to_string()),
                Err(e) => {
                    if json {
                        output::json(&Refusal::new(&file, &e));
                    }
                    bail!("{} is NOT valid: {e:#}", file.display())
                }
            }
        }
        BundleCommand::Upload {
            file,
            sign_on_server,
            api,
        } => {
            let api = api.over(top);
            let json = api.json;
            let (status, b) = upload(&api.client()?, &file, sign_on_server).await?;
            if !json {
                eprintln!(
                    "{}",
                    if status == 201 {
                        "uploaded and staged:"
                    } else {
                        "already stored (same content):"
                    }
                );
            }
            show(json, &b);
        }
        BundleCommand::List {
            kind,
            state,
            name,
            api,
        } => {
            let api = api.over(top);
            let json = api.json;
            let q: Vec<(&str, String)> = [("kind", kind), ("state", state), ("name", name)]
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect();
            let list: Vec<BundleView> = api.client()?.get("api/v1/bundles", &q).await?;
            output::print(json, &list, HEADER, rows(&list));
        }
        BundleCommand::Show { reference, api } => {
            let api = api.over(top);
            let b: BundleView = api
                .client()?
                .get(&format!("api/v1/bundles/{reference}"), &[])
                .await?;
            show(api.json, &b);
        }
        BundleCommand::Publish {
            reference,
            reason,
            api,
        } => act(api.over(top), "publish", &reference, reason).await?,
        BundleCommand::Deprecate {
            reference,
            reason,
            api,
        } => act(api.over(top), "deprecate", &reference, reason).await?,
        BundleCommand::Revoke {
            reference,
            reason,
            api,
        } => act(api.over(top), "revoke", &reference, reason).await?,
    }
    Ok(())
}

/// Runs a lifecycle action.
async fn act(
    api: Api,
    action: &str,
    reference: &str,
    reason: Option<String>,
) -> anyhow::Result<()> {
    let b: BundleView = api
        .client()?
        .send(
            Method::POST,
            &format!("api/v1/bundles/{reference}/{action}"),
            &[],
            Some(&BundleActionRequest { reason }),
        )
        .await?;
    show(api.json, &b);
    Ok(())
}
