//! The keyring: the online signing keys, the bundle kinds each may sign, a
//! version and an expiry, signed by the offline root key. Keys rotate by
//! publishing a new version.

use std::collections::BTreeSet;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::{
    envelope::{Envelope, KEYRING_TYPE, MANIFEST_TYPE},
    keys::{key_id, parse_public_key},
    manifest::{Kind, Manifest},
    trust::TrustError,
};

/// What a key may sign: a bundle kind, or check-in answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyRole {
    Firmware,
    Codec,
    Drm,
    App,
    Config,
    /// Signs check-in answers (the server's online key).
    Checkin,
}

impl KeyRole {
    pub fn for_kind(kind: Kind) -> Self {
        match kind {
            Kind::Firmware => Self::Firmware,
            Kind::Codec => Self::Codec,
            Kind::Drm => Self::Drm,
            Kind::App => Self::App,
            Kind::Config => Self::Config,
        }
    }

    pub const BUNDLES: [KeyRole; 5] = [
        KeyRole::Firmware,
        KeyRole::Codec,
        KeyRole::Drm,
        KeyRole::App,
        KeyRole::Config,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Firmware => "firmware",
            KeyRole::Codec => "codec",
            KeyRole::Drm => "drm",
            KeyRole::App => "app",
            KeyRole::Config => "config",
            KeyRole::Checkin => "checkin",
        }
    }
}

impl std::str::FromStr for KeyRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [KeyRole::Checkin]
            .into_iter()
            .chain(KeyRole::BUNDLES)
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown key role {s:?}"))
    }
}

/// A key in the keyring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    pub keyid: String,
    /// Base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    pub roles: BTreeSet<KeyRole>,
    #[serde(default)]
    pub name: String,
}

/// The keyring payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyring {
    /// Always `wavecast-keyring`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Increases with every change; a box never goes back to a lower version.
    pub version: u64,
    /// Unix seconds after which the keyring is no longer trusted.
    pub expires_at: i64,
    pub keys: Vec<KeyEntry>,
    /// Key ids withdrawn from service; signatures by them are refused.
    #[serde(default)]
    pub revoked: BTreeSet<String>,
}

pub const KEYRING_KIND: &str = "wavecast-keyring";

impl Keyring {
    pub fn new(version: u64, expires_at: i64) -> Self {
        Self {
            kind: KEYRING_KIND.to_owned(),
            version,
            expires_at,
            keys: Vec::new(),
            revoked: BTreeSet::new(),
        }
    }

    /// Adds a key with roles.
    pub fn add(
        &mut self,
        key: &VerifyingKey,
        roles: impl IntoIterator<Item = KeyRole>,
        name: &str,
    ) {
        self.keys.push(KeyEntry {
            keyid: key_id(key),
            public_key: crate::keys::public_key_text(key),
            roles: roles.into_iter().collect(),
            name: name.to_owned(),
        });
    }

    /// Removes a key from service and lists it as revoked.
    pub fn revoke(&mut self, keyid: &str) -> bool {
        let before = self.keys.len();
        self.keys.retain(|k| k.keyid != keyid);
        self.revoked.insert(keyid.to_owned());
        self.keys.len() != before
    }

    /// Signs this keyring with the root key.
    pub fn sign(&self, root: &ed25519_dalek::SigningKey) -> Result<Envelope, TrustError> {
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| TrustError::Malformed(format!("keyring: {e}")))?;
        let mut env = Envelope::new(KEYRING_TYPE, &bytes);
        env.sign(root)?;
        Ok(env)
    }

    fn entry(&self, keyid: &str) -> Option<&KeyEntry> {
        self.keys.iter().find(|k| k.keyid == keyid)
    }
}

/// Verifies a keyring envelope under the pinned root key: signed by root, of
/// a version not below `min_version`, not expired at `now` (Unix seconds).
pub fn verify_keyring(
    root: &VerifyingKey,
    envelope: &Envelope,
    now: i64,
    min_version: u64,
) -> Result<Keyring, TrustError> {
    let keyring = open_keyring(root, envelope)?;
    keyring.check_fresh(now, min_version)?;
    Ok(keyring)
}

/// Checks the root signature and parses a keyring, without judging its
/// version or expiry (see [`Keyring::check_fresh`]).
pub fn open_keyring(root: &VerifyingKey, envelope: &Envelope) -> Result<Keyring, TrustError> {
    envelope.expect_type(KEYRING_TYPE)?;
    if !envelope.verify_by(root)? {
        return Err(TrustError::NotSignedByRoot);
    }
    let keyring: Keyring = serde_json::from_slice(&envelope.payload_bytes()?)
        .map_err(|e| TrustError::Malformed(format!("keyring: {e}")))?;
    if keyring.kind != KEYRING_KIND {
        return Err(TrustError::Malformed(format!(
            "keyring type {:?}",
            keyring.kind
        )));
    }
    Ok(keyring)
}

impl Keyring {
    /// Refuses a keyring older than `min_version` or expired at `now`.
    pub fn check_fresh(&self, now: i64, min_version: u64) -> Result<(), TrustError> {
        if self.version < min_version {
            return Err(TrustError::KeyringRollback {
                have: min_version,
                got: self.version,
            });
        }
        if self.expires_at <= now {
            return Err(TrustError::KeyringExpired {
                version: self.version,
                expires_at: self.expires_at,
                now,
            });
        }
        Ok(())
    }
}

/// Verifies a manifest envelope against a verified keyring: at least one
/// valid signature by a non-revoked key whose roles include the bundle's kind.
/// Returns the manifest and the id of the key that vouched for it.
pub fn verify_manifest(
    keyring: &Keyring,
    envelope: &Envelope,
) -> Result<(Manifest, String), TrustError> {
    envelope.expect_type(MANIFEST_TYPE)?;
    if envelope.signatures.is_empty() {
        return Err(TrustError::Unsigned);
    }
    // Revoked keys are refused outright, even beside a good signature.
    if let Some(s) = envelope
        .signatures
        .iter()
        .find(|s| keyring.revoked.contains(&s.keyid))
    {
        return Err(TrustError::RevokedKey {
            keyid: s.keyid.clone(),
            keyring_version: keyring.version,
        });
    }
    let mut signer = None;
    for s in &envelope.signatures {
        let Some(entry) = keyring.entry(&s.keyid) else {
            continue;
        };
        let key = parse_public_key(&entry.public_key)
            .map_err(|e| TrustError::Malformed(format!("keyring key {}: {e}", entry.keyid)))?;
        if envelope.verify_by(&key)? {
            signer = Some(entry);
            break;
        }
    }
    let Some(signer) = signer else {
        let ids: Vec<&str> = envelope
            .signatures
            .iter()
            .map(|s| s.keyid.as_str())
            .collect();
        return Err(TrustError::UnknownKey {
            keyids: ids.join(", "),
            keyring_version: keyring.version,
        });
    };
    let manifest = Manifest::parse(&envelope.payload_bytes()?)?;
    if !signer.roles.contains(&KeyRole::for_kind(manifest.kind)) {
        let allowed: Vec<&str> = signer.roles.iter().map(|r| r.as_str()).collect();
        return Err(TrustError::KindNotAllowed {
            keyid: signer.keyid.clone(),
            kind: manifest.kind,
            allowed: allowed.join(", "),
        });
    }
    Ok((manifest, signer.keyid.clone()))
}

/// Signs a manifest into an envelope.
pub fn sign_manifest(
    manifest: &Manifest,
    key: &ed25519_dalek::SigningKey,
) -> Result<Envelope, TrustError> {
    let mut env = unsigned_manifest(manifest)?;
    env.sign(key)?;
    Ok(env)
}

/// A manifest envelope without signatures (for server-side signing).
pub fn unsigned_manifest(manifest: &Manifest) -> Result<Envelope, TrustError> {
    let bytes = serde_json::to_vec_pretty(manifest)
        .map_err(|e| TrustError::Malformed(format!("manifest: {e}")))?;
    Ok(Envelope::new(MANIFEST_TYPE, &bytes))
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;
    use crate::{manifest::tests::sample, manifest::Kind};

    const NOW: i64 = 1_800_000_000;

    struct Fixture {
        root: SigningKey,
        signer: SigningKey,
        keyring: Keyring,
    }

    fn fixture() -> Fixture {
        let root = SigningKey::from_bytes(&[1; 32]);
        let signer = SigningKey::from_bytes(&[2; 32]);
        let mut keyring = Keyring::new(3, NOW + 3600);
        keyring.add(&signer.verifying_key(), KeyRole::BUNDLES, "signing");
        Fixture {
            root,
            signer,
            keyring,
        }
    }

    #[test]
    fn a_good_chain_verifies() {
        let f = fixture();
        let env = f.keyring.sign(&f.root).expect("sign");
        let kr = verify_keyring(&f.root.verifying_key(), &env, NOW, 1).expect("keyring");
        let m = sign_manifest(&sample(), &f.signer).expect("sign");
        let (manifest, keyid) = verify_manifest(&kr, &m).expect("manifest");
        assert_eq!(manifest, sample());
        assert_eq!(keyid, key_id(&f.signer.verifying_key()));
    }

    #[test]
    fn keyring_refusals() {
        let f = fixture();
        let env = f.keyring.sign(&f.root).expect("sign");
        let other_root = SigningKey::from_bytes(&[9; 32]).verifying_key();
        assert_eq!(
            verify_keyring(&other_root, &env, NOW, 1),
            Err(TrustError::NotSignedByRoot)
        );
        assert!(matches!(
            verify_keyring(&f.root.verifying_key(), &env, NOW + 3600, 1),
            Err(TrustError::KeyringExpired { version: 3, .. })
        ));
        assert_eq!(
            verify_keyring(&f.root.verifying_key(), &env, NOW, 4),
            Err(TrustError::KeyringRollback { have: 4, got: 3 })
        );
        // A keyring signed by a signing key, not root.
        let forged = f.keyring.sign(&f.signer).expect("sign");
        assert_eq!(
            verify_keyring(&f.root.verifying_key(), &forged, NOW, 1),
            Err(TrustError::NotSignedByRoot)
        );
    }

    #[test]
    fn manifest_refusals() {
        let f = fixture();
        let stranger = SigningKey::from_bytes(&[7; 32]);
        let by_stranger = sign_manifest(&sample(), &stranger).expect("sign");
        assert!(matches!(
            verify_manifest(&f.keyring, &by_stranger),
            Err(TrustError::UnknownKey { .. })
        ));

        let mut revoked = f.keyring.clone();
        revoked.revoke(&key_id(&f.signer.verifying_key()));
        let signed = sign_manifest(&sample(), &f.signer).expect("sign");
        assert!(matches!(
            verify_manifest(&revoked, &signed),
            Err(TrustError::RevokedKey { .. })
        ));

        let mut codec_only = Keyring::new(3, NOW + 10);
        codec_only.add(&f.signer.verifying_key(), [KeyRole::Codec], "codec");
        assert!(matches!(
            verify_manifest(&codec_only, &signed),
            Err(TrustError::KindNotAllowed {
                kind: Kind::Firmware,
                ..
            })
        ));

        let unsigned = unsigned_manifest(&sample()).expect("env");
        assert_eq!(
            verify_manifest(&f.keyring, &unsigned),
            Err(TrustError::Unsigned)
        );
    }
}
