//! The bundle manifest: what a bundle is, what it may be installed on, and
//! the size and SHA-256 of every artifact it carries.

use serde::{Deserialize, Serialize};

pub use crate::kind::Kind;
use crate::{digest::Sha256Digest, trust::TrustError};

/// The manifest format this build writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;

/// How an artifact's stored bytes are compressed. Size and SHA-256 are of the
/// stored (compressed) bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Zstd,
}

/// Hardware a bundle may be installed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Compatibility {
    /// The box model, e.g. `X1`.
    pub model: String,
    /// Hardware revisions of that model; empty (or absent, or `null`)
    /// means every revision.
    #[serde(default, deserialize_with = "null_as_default")]
    pub revisions: Vec<String>,
}

/// A requirement on another installed component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Requirement {
    /// The component's name (another bundle's `name`).
    pub name: String,
    /// Accepted versions, e.g. `>=4.2.0`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: semver::VersionReq,
}

/// One artifact of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Artifact {
    /// File name inside the bundle, unique within it.
    pub name: String,
    /// Exact size in bytes of the stored bytes.
    pub size: u64,
    pub sha256: Sha256Digest,
    /// Where it installs: a slot for firmware (`rootfs`, `kernel`), a
    /// directory name for codec, DRM and app bundles.
    pub target: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub compression: Compression,
}

/// The manifest of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Manifest {
    pub format: u32,
    pub kind: Kind,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: semver::Version,
    /// Monotonic anti-rollback counter: boxes refuse a lower one than installed.
    pub security_version: u64,
    /// Hardware this may be installed on (at least one entry).
    pub compatible: Vec<Compatibility>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub requires: Vec<Requirement>,
    pub artifacts: Vec<Artifact>,
    /// A licensed product a box must be entitled to, e.g. `codec-pack-premium`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licensed_product: Option<String>,
    /// Creation time, Unix seconds UTC.
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An optional field that is absent or `null` takes its default: the
/// format treats the two alike (`docs/bundle-format.md` §4).
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

impl Manifest {
    /// Parses and checks a manifest's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, TrustError> {
        #[derive(Deserialize)]
        struct Probe {
            format: u32,
        }
        let probe: Probe = serde_json::from_slice(bytes)
            .map_err(|e| TrustError::Malformed(format!("manifest: {e}")))?;
        if probe.format != MANIFEST_FORMAT {
            return Err(TrustError::UnsupportedFormat(probe.format));
        }
        let m: Manifest = serde_json::from_slice(bytes)
            .map_err(|e| TrustError::Malformed(format!("manifest: {e}")))?;
        m.check().map_err(TrustError::Malformed)?;
        Ok(m)
    }

    /// Structural rules: names, at least one artifact and one compatible model,
    /// unique artifact names.
    pub fn check(&self) -> Result<(), String> {
        if !valid_name(&self.name) {
            return Err(format!(
                "name {:?} must be 1-128 characters of letters, digits, '.', '-' or '_'",
                self.name
            ));
        }
        if self.artifacts.is_empty() {
            return Err("a bundle needs at least one artifact".to_owned());
        }
        if self.compatible.is_empty() {
            return Err("a bundle needs at least one compatible model".to_owned());
        }
        for r in &self.requires {
            if !valid_name(&r.name) {
                return Err(format!(
                    "requirement name {:?} must be 1-128 characters of letters, digits, '.', '-' or '_'",
                    r.name
                ));
            }
        }
        let mut names = std::collections::HashSet::new();
        for a in &self.artifacts {
            if !valid_name(&a.name) {
                return Err(format!(
                    "artifact name {:?} is not a plain file name",
                    a.name
                ));
            }
            if !names.insert(a.name.as_str()) {
                return Err(format!("artifact name {:?} appears twice", a.name));
            }
            if a.target.is_empty() {
                return Err(format!("artifact {:?} has no install target", a.name));
            }
        }
        Ok(())
    }

    /// The total size of all artifacts.
    pub fn payload_size(&self) -> u64 {
        self.artifacts.iter().map(|a| a.size).sum()
    }

    /// Whether the bundle may be installed on this model and revision.
    pub fn is_compatible(&self, model: &str, revision: &str) -> bool {
        self.compatible.iter().any(|c| {
            c.model == model
                && (c.revisions.is_empty() || c.revisions.iter().any(|r| r == revision))
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn sample() -> Manifest {
        Manifest {
            format: MANIFEST_FORMAT,
            kind: Kind::Firmware,
            name: "x1-firmware".into(),
            version: semver::Version::new(4, 2, 0),
            security_version: 7,
            compatible: vec![Compatibility {
                model: "X1".into(),
                revisions: vec!["A".into()],
            }],
            requires: vec![],
            artifacts: vec![Artifact {
                name: "rootfs.img".into(),
                size: 3,
                sha256: Sha256Digest::of(b"abc"),
                target: "rootfs".into(),
                compression: Compression::None,
            }],
            licensed_product: None,
            created_at: 1_800_000_000,
            description: None,
        }
    }

    #[test]
    fn round_trips_and_checks() {
        let m = sample();
        let bytes = serde_json::to_vec(&m).expect("ser");
        assert_eq!(Manifest::parse(&bytes), Ok(m));
    }

    #[test]
    fn refuses_unknown_format_and_bad_structure() {
        let mut m = sample();
        m.format = 9;
        let bytes = serde_json::to_vec(&m).expect("ser");
        assert_eq!(
            Manifest::parse(&bytes),
            Err(TrustError::UnsupportedFormat(9))
        );

        let mut m = sample();
        m.artifacts.push(m.artifacts[0].clone());
        assert!(m.check().expect_err("dup").contains("twice"));
        let mut m = sample();
        m.name = "../etc".into();
        assert!(m.check().is_err());
        let mut m = sample();
        m.compatible.clear();
        assert!(m.check().is_err());
    }

    #[test]
    fn open_points_decided_as_the_format_says() {
        let mut v = serde_json::to_value(sample()).expect("ser");
        // `null` in an optional field is the same as leaving it out.
        v["requires"] = serde_json::Value::Null;
        v["description"] = serde_json::Value::Null;
        v["compatible"][0]["revisions"] = serde_json::Value::Null;
        v["artifacts"][0]["compression"] = serde_json::Value::Null;
        // Unknown fields are ignored: formats only grow.
        v["added_later"] = serde_json::json!({"x": 1});
        let m = Manifest::parse(&serde_json::to_vec(&v).expect("ser")).expect("parses");
        assert!(m.requires.is_empty() && m.compatible[0].revisions.is_empty());
        // Upper-case hex digests are the same digest.
        v["artifacts"][0]["sha256"] = Sha256Digest::of(b"abc").to_hex().to_uppercase().into();
        let m = Manifest::parse(&serde_json::to_vec(&v).expect("ser")).expect("parses");
        assert_eq!(m.artifacts[0].sha256, Sha256Digest::of(b"abc"));
        // Required fields may not be null or missing.
        for field in [
            "name",
            "version",
            "security_version",
            "compatible",
            "artifacts",
            "created_at",
            "kind",
        ] {
            let mut w = v.clone();
            w[field] = serde_json::Value::Null;
            assert!(
                Manifest::parse(&serde_json::to_vec(&w).expect("ser")).is_err(),
                "{field}: null"
            );
            w.as_object_mut().expect("object").remove(field);
            assert!(
                Manifest::parse(&serde_json::to_vec(&w).expect("ser")).is_err(),
                "{field}: missing"
            );
        }
        // Requirement names follow the bundle-name grammar; versions Cargo's.
        let mut w = v.clone();
        w["requires"] = serde_json::json!([{"name": "../x", "version": ">=1"}]);
        assert!(Manifest::parse(&serde_json::to_vec(&w).expect("ser")).is_err());
        w["requires"] = serde_json::json!([{"name": "x", "version": ">=1.0, <2"}]);
        assert!(Manifest::parse(&serde_json::to_vec(&w).expect("ser")).is_ok());
        w["requires"] = serde_json::json!([{"name": "x", "version": "=> 1"}]);
        assert!(Manifest::parse(&serde_json::to_vec(&w).expect("ser")).is_err());
    }

    #[test]
    fn compatibility_by_model_and_revision() {
        let mut m = sample();
        assert!(m.is_compatible("X1", "A"));
        assert!(!m.is_compatible("X1", "B"));
        assert!(!m.is_compatible("X2", "A"));
        m.compatible[0].revisions.clear();
        assert!(m.is_compatible("X1", "B"), "no revisions means all");
    }
}
