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

/// What a key may sign: a bundle kind, check-in answers, or licence tokens
/// and validation answers. Roles added later are kept but allow nothing on
/// older boxes ([`KeyEntry::other_roles`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum KeyRole {
    Firmware,
    Codec,
    Drm,
    App,
    Config,
    /// Signs check-in answers (the server's online key).
    Checkin,
    /// Signs licence tokens and licence validation answers (the server's
    /// online key; [`crate::licence`]).
    Licence,
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
            KeyRole::Licence => "licence",
        }
    }
}

impl std::str::FromStr for KeyRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [KeyRole::Checkin, KeyRole::Licence]
            .into_iter()
            .chain(KeyRole::BUNDLES)
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown key role {s:?}"))
    }
}

/// A key in the keyring. Role names this version does not know are kept
/// (`other_roles`, written back as they came) but allow nothing: a keyring
/// that gives a key a role added later still verifies on older boxes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "KeyEntryWire", into = "KeyEntryWire")]
pub struct KeyEntry {
    pub keyid: String,
    /// Base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    pub roles: BTreeSet<KeyRole>,
    /// Roles named in the keyring that this version does not know.
    pub other_roles: BTreeSet<String>,
    pub name: String,
}

/// A keyring entry as it is written.
#[derive(Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = KeyEntry))]
struct KeyEntryWire {
    keyid: String,
    public_key: String,
    roles: BTreeSet<String>,
    #[serde(default, deserialize_with = "crate::manifest::null_as_default")]
    name: String,
}

impl From<KeyEntryWire> for KeyEntry {
    fn from(w: KeyEntryWire) -> Self {
        let (known, other): (BTreeSet<String>, BTreeSet<String>) = w
            .roles
            .into_iter()
            .partition(|r| r.parse::<KeyRole>().is_ok());
        Self {
            keyid: w.keyid,
            public_key: w.public_key,
            roles: known.iter().filter_map(|r| r.parse().ok()).collect(),
            other_roles: other,
            name: w.name,
        }
    }
}

impl From<KeyEntry> for KeyEntryWire {
    fn from(e: KeyEntry) -> Self {
        let mut roles: BTreeSet<String> = e.roles.iter().map(|r| r.as_str().to_owned()).collect();
        roles.extend(e.other_roles);
        Self {
            keyid: e.keyid,
            public_key: e.public_key,
            roles,
            name: e.name,
        }
    }
}

/// The keyring payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
            other_roles: BTreeSet::new(),
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

    /// The entry of key `keyid` (hex in either case).
    pub fn entry(&self, keyid: &str) -> Option<&KeyEntry> {
        self.keys
            .iter()
            .find(|k| k.keyid.eq_ignore_ascii_case(keyid))
    }

    /// Whether key `keyid` (hex in either case) is revoked.
    pub fn is_revoked(&self, keyid: &str) -> bool {
        self.revoked.iter().any(|r| r.eq_ignore_ascii_case(keyid))
    }

    /// The key `keyid` if this keyring lists it with `role`: `None` when it
    /// is not listed, an error when it is revoked or lacks the role.
    pub fn role_key(&self, keyid: &str, role: KeyRole) -> Result<Option<VerifyingKey>, TrustError> {
        if self.is_revoked(keyid) {
            return Err(TrustError::RevokedKey {
                keyid: keyid.to_owned(),
                keyring_version: self.version,
            });
        }
        let Some(entry) = self.entry(keyid) else {
            return Ok(None);
        };
        if !entry.roles.contains(&role) {
            return Err(TrustError::Malformed(format!(
                "key {} may not sign {} payloads",
                entry.keyid,
                role.as_str()
            )));
        }
        parse_public_key(&entry.public_key)
            .map(Some)
            .map_err(TrustError::Malformed)
    }

    /// Checks that `envelope` carries a valid signature by a key this
    /// keyring lists with `role` (signatures by unlisted keys are ignored; a
    /// revoked or role-less listed key, or a bad signature, refuses it).
    pub fn verify_role(&self, envelope: &Envelope, role: KeyRole) -> Result<(), TrustError> {
        let mut signed = false;
        for s in &envelope.signatures {
            if let Some(key) = self.role_key(&s.keyid, role)? {
                signed |= envelope.verify_by(&key)?;
            }
        }
        if signed {
            return Ok(());
        }
        let ids: Vec<&str> = envelope
            .signatures
            .iter()
            .map(|s| s.keyid.as_str())
            .collect();
        Err(TrustError::UnknownKey {
            keyids: ids.join(", "),
            keyring_version: self.version,
        })
    }

    /// Whether key `keyid` may sign a `kind` bundle under this keyring at
    /// `now`: listed, not revoked, holding the role, the keyring not
    /// expired. Says which when not (a builder refuses to sign then).
    pub fn may_sign(&self, keyid: &str, kind: Kind, now: i64) -> Result<(), String> {
        if self.is_revoked(keyid) {
            return Err(format!(
                "key {keyid} is revoked in keyring version {}",
                self.version
            ));
        }
        let Some(entry) = self.entry(keyid) else {
            return Err(format!(
                "key {keyid} is not in keyring version {}",
                self.version
            ));
        };
        if !entry.roles.contains(&KeyRole::for_kind(kind)) {
            let roles: Vec<&str> = entry.roles.iter().map(|r| r.as_str()).collect();
            return Err(format!(
                "key {keyid} may not sign {kind} bundles (it may sign: {})",
                if roles.is_empty() {
                    "nothing".to_owned()
                } else {
                    roles.join(", ")
                }
            ));
        }
        if self.expires_at <= now {
            return Err(format!(
                "keyring version {} expired at {}: publish a new one (`wavecast keys rotate` or `revoke`)",
                self.version, self.expires_at
            ));
        }
        Ok(())
    }

    /// Structural rules a root-signed keyring must still meet: each key id
    /// is the SHA-256 of its public key, and no key is listed twice.
    fn check(&self) -> Result<(), TrustError> {
        let mut seen = std::collections::HashSet::new();
        for k in &self.keys {
            let key = parse_public_key(&k.public_key)
                .map_err(|e| TrustError::Malformed(format!("keyring key {}: {e}", k.keyid)))?;
            if !k.keyid.eq_ignore_ascii_case(&key_id(&key)) {
                return Err(TrustError::Malformed(format!(
                    "keyring key {} is not the id of its public key",
                    k.keyid
                )));
            }
            if !seen.insert(k.keyid.to_ascii_lowercase()) {
                return Err(TrustError::Malformed(format!(
                    "keyring lists key {} twice",
                    k.keyid
                )));
            }
        }
        Ok(())
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
    keyring.check()?;
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
/// valid signature by a non-revoked key whose roles include the bundle's
/// kind. Returns the manifest and the id of the key that vouched for it.
///
/// The verdict does not depend on the order of signatures or keys, nor on
/// duplicates: a signature by a revoked key refuses the manifest; a
/// signature by a keyring key that does not verify refuses it; signatures
/// by keys the keyring does not list are ignored; then some key that
/// verified must hold the kind's role (the first such key in keyring order
/// is the one named).
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
        .find(|s| keyring.is_revoked(&s.keyid))
    {
        return Err(TrustError::RevokedKey {
            keyid: s.keyid.clone(),
            keyring_version: keyring.version,
        });
    }
    let mut signers = Vec::new();
    for entry in &keyring.keys {
        let key = parse_public_key(&entry.public_key)
            .map_err(|e| TrustError::Malformed(format!("keyring key {}: {e}", entry.keyid)))?;
        if envelope.verify_by(&key)? {
            signers.push(entry);
        }
    }
    let Some(first) = signers.first() else {
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
    let role = KeyRole::for_kind(manifest.kind);
    match signers.iter().find(|e| e.roles.contains(&role)) {
        Some(signer) => Ok((manifest, signer.keyid.clone())),
        None => {
            let allowed: Vec<&str> = first.roles.iter().map(|r| r.as_str()).collect();
            Err(TrustError::KindNotAllowed {
                keyid: first.keyid.clone(),
                kind: manifest.kind,
                allowed: allowed.join(", "),
            })
        }
    }
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

/// `KeyEntry` is written as `KeyEntryWire`; its schema is the wire form's.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for KeyEntry {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <KeyEntryWire as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for KeyEntry {
    fn name() -> std::borrow::Cow<'static, str> {
        "KeyEntry".into()
    }
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
    fn the_verdict_does_not_depend_on_order_or_duplicates() {
        let f = fixture();
        // A second key that may sign only codecs.
        let codec = SigningKey::from_bytes(&[3; 32]);
        let mut kr = f.keyring.clone();
        kr.add(&codec.verifying_key(), [KeyRole::Codec], "codec");
        let by = |keys: &[&SigningKey]| {
            let mut env = unsigned_manifest(&sample()).expect("env");
            for k in keys {
                env.sign(k).expect("sign");
            }
            env
        };
        let firmware_key = key_id(&f.signer.verifying_key());
        for order in [[&codec, &f.signer], [&f.signer, &codec]] {
            let (_, keyid) = verify_manifest(&kr, &by(&order)).expect("one signer holds the role");
            assert_eq!(keyid, firmware_key);
        }
        // The same keys listed in the other order in the keyring.
        let mut swapped = kr.clone();
        swapped.keys.reverse();
        let (_, keyid) = verify_manifest(&swapped, &by(&[&codec, &f.signer])).expect("verifies");
        assert_eq!(keyid, firmware_key);
        // A signature listed twice counts once.
        let mut twice = by(&[&f.signer]);
        twice.signatures.push(twice.signatures[0].clone());
        assert!(verify_manifest(&kr, &twice).is_ok());
        // Only the codec key: refused whatever the order.
        assert!(matches!(
            verify_manifest(&kr, &by(&[&codec])),
            Err(TrustError::KindNotAllowed { .. })
        ));
        // Key ids in upper-case hex name the same key, revoked or not.
        let mut upper = by(&[&f.signer]);
        upper.signatures[0].keyid = upper.signatures[0].keyid.to_uppercase();
        assert!(verify_manifest(&kr, &upper).is_ok());
        let mut revoked = kr.clone();
        revoked.revoke(&firmware_key);
        assert!(matches!(
            verify_manifest(&revoked, &upper),
            Err(TrustError::RevokedKey { .. })
        ));
    }

    #[test]
    fn unknown_roles_allow_nothing_and_survive_a_rewrite() {
        let f = fixture();
        let mut v = serde_json::to_value(&f.keyring).expect("ser");
        v["keys"][0]["roles"] = serde_json::json!(["firmware", "telemetry-upload"]);
        let bytes = serde_json::to_vec(&v).expect("ser");
        let mut env = Envelope::new(KEYRING_TYPE, &bytes);
        env.sign(&f.root).expect("sign");
        let kr = verify_keyring(&f.root.verifying_key(), &env, NOW, 1).expect("still a keyring");
        assert_eq!(kr.keys[0].roles, BTreeSet::from([KeyRole::Firmware]));
        let again = serde_json::to_value(&kr).expect("ser");
        assert_eq!(
            again["keys"][0]["roles"], v["keys"][0]["roles"],
            "kept as written"
        );
    }

    #[test]
    fn a_key_listed_twice_or_under_another_id_is_refused() {
        let f = fixture();
        let mut twice = f.keyring.clone();
        twice.add(&f.signer.verifying_key(), [KeyRole::Checkin], "again");
        let env = twice.sign(&f.root).expect("sign");
        let e = verify_keyring(&f.root.verifying_key(), &env, NOW, 1).expect_err("refused");
        assert!(e.to_string().contains("twice"), "{e}");
        let mut misnamed = f.keyring.clone();
        misnamed.keys[0].keyid = "00".repeat(32);
        let env = misnamed.sign(&f.root).expect("sign");
        assert!(verify_keyring(&f.root.verifying_key(), &env, NOW, 1).is_err());
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
