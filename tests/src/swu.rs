//! SWUpdate images (`.swu`) as a release engineer makes them: a CPIO
//! archive in the "newc with CRC" format (`070702`) holding
//! `sw-description`, its CMS signature (made by the real `openssl cms`,
//! with a certificate fit for it) and the image, installed by SWUpdate's
//! `dummy` handler.
//!
//! The CPIO writer is a few lines here rather than a crate: the format is
//! a fixed ASCII header per file, and no maintained crate writes the CRC
//! variant SWUpdate reads.

use std::{path::Path, process::Command};

use sha2::{Digest, Sha256};
use wavecast_protocol::{
    keyring::sign_manifest,
    manifest::{Compatibility, Manifest},
};

use crate::trust::{bundle_file, manifest, Keys};

/// A Wavecast bundle carrying `swu` for DDI boxes: one artifact,
/// `NAME-VERSION.swu`, installed by SWUpdate, for `stb` boxes of revision
/// `1.0`, signed by `keys.signer`.
pub fn bundle(keys: &Keys, name: &str, version: &str, swu: &[u8]) -> Vec<u8> {
    let mut m: Manifest = manifest(name, version, swu);
    m.compatible = vec![Compatibility {
        model: "stb".into(),
        revisions: vec!["1.0".into()],
    }];
    m.artifacts[0].name = format!("{name}-{version}.swu");
    m.artifacts[0].target = "swupdate".into();
    let env = sign_manifest(&m, &keys.signer).expect("sign");
    bundle_file(&keys.keyring_env, &env, swu)
}

/// A signing certificate and key for `sw-description` (`keyUsage =
/// digitalSignature`, `extendedKeyUsage = emailProtection`, as SWUpdate
/// requires), written into `dir` as `cert.pem` and `key.pem`.
pub fn signing_cert(dir: &Path) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-subj",
            "/CN=wavecast test release",
            "-days",
            "2",
            "-addext",
            "keyUsage=digitalSignature",
            "-addext",
            "extendedKeyUsage=emailProtection",
        ])
        .output()
        .expect("openssl runs (scripts/test-deps.sh installs it)");
    assert!(
        out.status.success(),
        "openssl req: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One file of a newc-with-CRC archive, padded as the format wants.
fn entry(out: &mut Vec<u8>, ino: u32, name: &str, data: &[u8]) {
    let check = data.iter().fold(0u32, |s, b| s.wrapping_add(u32::from(*b)));
    let name_len = name.len() as u32 + 1;
    let fields = [
        ino,
        0o100_644,
        0,
        0,
        1,
        0,
        data.len() as u32,
        0,
        0,
        0,
        0,
        name_len,
        check,
    ];
    out.extend_from_slice(b"070702");
    for f in fields {
        out.extend_from_slice(format!("{f:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.resize(out.len().next_multiple_of(4), 0);
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// A signed `.swu` of `image` at `version`, for hardware revision `1.0`,
/// signed with the certificate in `dir` ([`signing_cert`]).
pub fn image(dir: &Path, version: &str, image: &[u8]) -> Vec<u8> {
    let sha = hex::encode(Sha256::digest(image));
    let description = format!(
        r#"software =
{{
    version = "{version}";
    hardware-compatibility: [ "1.0" ];
    images: (
        {{
            filename = "rootfs.img";
            type = "dummy";
            sha256 = "{sha}";
        }}
    );
}}
"#
    );
    let desc_path = dir.join(format!("sw-description-{version}"));
    let sig_path = dir.join(format!("sw-description-{version}.sig"));
    std::fs::write(&desc_path, &description).expect("sw-description");
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(["cms", "-sign", "-in"])
        .arg(&desc_path)
        .arg("-out")
        .arg(&sig_path)
        .args([
            "-signer",
            "cert.pem",
            "-inkey",
            "key.pem",
            "-outform",
            "DER",
            "-nosmimecap",
            "-binary",
        ])
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl cms: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sig = std::fs::read(&sig_path).expect("signature");
    let mut swu = Vec::new();
    entry(&mut swu, 1, "sw-description", description.as_bytes());
    entry(&mut swu, 2, "sw-description.sig", &sig);
    entry(&mut swu, 3, "rootfs.img", image);
    entry(&mut swu, 0, "TRAILER!!!", &[]);
    swu
}

#[cfg(test)]
mod tests {
    use super::entry;

    #[test]
    fn entries_are_aligned_and_carry_their_checksum() {
        let mut out = Vec::new();
        entry(&mut out, 7, "ab", &[1, 2, 3]);
        assert_eq!(&out[..6], b"070702");
        assert_eq!(out.len() % 4, 0);
        // A 110-byte header and "ab\0" padded to 116, 3 data bytes to 120.
        assert_eq!(out.len(), 120);
        assert_eq!(&out[102..110], b"00000006", "the checksum sums the data");
    }
}
