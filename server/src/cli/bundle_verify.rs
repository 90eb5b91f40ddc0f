//! `wavecast bundle verify`: a bundle file checked completely, offline,
//! against the root public key, as a box would (keyring, manifest, every
//! artifact's size and digest), reported as text or JSON.

use std::{
    fs::File,
    io::{BufReader, Read},
    path::Path,
};

use anyhow::Context as _;
use serde::Serialize;
use wavecast_protocol::{
    bundle::{BundleStream, Event},
    keyring::{open_keyring, verify_manifest},
    manifest::Manifest,
};

/// What a valid bundle holds and who vouched for it.
#[derive(Debug, Serialize)]
pub struct Report {
    pub valid: bool,
    pub name: String,
    pub version: String,
    pub kind: String,
    pub security_version: u64,
    /// The key that signed it, and what the keyring lets that key sign.
    pub signer: String,
    pub signer_roles: Vec<String>,
    pub keyring_version: u64,
    /// RFC 3339.
    pub keyring_expires_at: String,
    pub compatible: Vec<String>,
    pub requires: Vec<String>,
    pub licensed_product: Option<String>,
    pub artifacts: Vec<ArtifactReport>,
}

/// One artifact, checked.
#[derive(Debug, Serialize)]
pub struct ArtifactReport {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub target: String,
    pub ok: bool,
}

/// Why a bundle is not valid, for `--json`.
#[derive(Debug, Serialize)]
pub struct Refusal {
    pub valid: bool,
    pub file: String,
    pub error: String,
}

impl Refusal {
    pub fn new(file: &Path, e: &anyhow::Error) -> Self {
        Self {
            valid: false,
            file: file.display().to_string(),
            error: format!("{e:#}"),
        }
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "bundle {} {} ({}), security version {}",
            self.name, self.version, self.kind, self.security_version
        )?;
        writeln!(
            f,
            "  signed by key {} (may sign: {})",
            self.signer,
            self.signer_roles.join(", ")
        )?;
        writeln!(
            f,
            "  keyring version {}, valid until {}",
            self.keyring_version, self.keyring_expires_at
        )?;
        writeln!(f, "  compatible: {}", self.compatible.join("; "))?;
        let reqs = if self.requires.is_empty() {
            "-".to_owned()
        } else {
            self.requires.join(", ")
        };
        writeln!(f, "  requires: {reqs}")?;
        if let Some(p) = &self.licensed_product {
            writeln!(f, "  licensed product: {p}")?;
        }
        writeln!(f, "  artifacts:")?;
        for a in &self.artifacts {
            let status = if a.ok { "ok" } else { "MISSING" };
            writeln!(
                f,
                "    {:<24} {:>12} bytes  sha256 {}  -> {}  {status}",
                a.name, a.size, a.sha256, a.target
            )?;
        }
        writeln!(f, "result: VALID")
    }
}

/// Verifies a bundle file completely; the report, or the reason it fails.
pub fn verify(file: &Path, root: &ed25519_dalek::VerifyingKey) -> anyhow::Result<Report> {
    let mut f = BufReader::with_capacity(
        1 << 20,
        File::open(file).with_context(|| format!("cannot open {}", file.display()))?,
    );
    let mut stream = BundleStream::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut head: Option<(Manifest, String, Vec<String>, u64, i64)> = None;
    let mut ok_artifacts = Vec::new();
    loop {
        let n = f.read(&mut buf)?;
        let done = n == 0;
        stream.feed::<anyhow::Error>(&buf[..n], |s, event| {
            match event {
                Event::Header(h) => {
                    let kr = open_keyring(root, &h.keyring)?;
                    kr.check_fresh(chrono::Utc::now().timestamp(), 0)?;
                    let (m, signer) = verify_manifest(&kr, &h.manifest)?;
                    let roles = kr
                        .entry(&signer)
                        .map(|e| e.roles.iter().map(|r| r.as_str().to_owned()).collect())
                        .unwrap_or_default();
                    s.accept(m.artifacts.clone());
                    head = Some((m, signer, roles, kr.version, kr.expires_at));
                }
                Event::Data { .. } => {}
                Event::ArtifactDone { index, .. } => ok_artifacts.push(index),
            }
            Ok(())
        })?;
        if done {
            break;
        }
    }
    stream.finish()?;
    let (m, signer, signer_roles, keyring_version, expires_at) = head.context("no header")?;
    Ok(Report {
        valid: true,
        name: m.name.clone(),
        version: m.version.to_string(),
        kind: m.kind.to_string(),
        security_version: m.security_version,
        signer,
        signer_roles,
        keyring_version,
        keyring_expires_at: chrono::DateTime::from_timestamp(expires_at, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default(),
        compatible: m
            .compatible
            .iter()
            .map(|c| {
                if c.revisions.is_empty() {
                    c.model.clone()
                } else {
                    format!("{} (rev {})", c.model, c.revisions.join(", "))
                }
            })
            .collect(),
        requires: m
            .requires
            .iter()
            .map(|r| format!("{} {}", r.name, r.version))
            .collect(),
        licensed_product: m.licensed_product.clone(),
        artifacts: m
            .artifacts
            .iter()
            .enumerate()
            .map(|(i, a)| ArtifactReport {
                name: a.name.clone(),
                size: a.size,
                sha256: a.sha256.to_hex(),
                target: a.target.clone(),
                ok: ok_artifacts.contains(&i),
            })
            .collect(),
    })
}
