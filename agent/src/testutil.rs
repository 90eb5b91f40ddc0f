//! Fixtures for the agent's unit tests.

use wavecast_protocol::{
    manifest::{
        Artifact, Compatibility, Compression, Kind, Manifest, Requirement, MANIFEST_FORMAT,
    },
    Sha256Digest,
};

/// A firmware manifest for model X1 revision A that needs a bootloader.
pub fn manifest() -> Manifest {
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
        requires: vec![Requirement {
            name: "x1-bootloader".into(),
            version: ">=2.0.0".parse().expect("req"),
        }],
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
