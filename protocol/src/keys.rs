//! Ed25519 keys, key ids, and the text forms keys are written in.
//!
//! A key id is the lowercase hex SHA-256 of the 32-byte public key. Public
//! keys travel as standard base64 of the 32 raw bytes; private key files hold
//! a JSON object with the base64 of the 32-byte seed.

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::digest::Sha256Digest;

/// The id of a public key: hex SHA-256 of its raw bytes.
pub fn key_id(key: &VerifyingKey) -> String {
    Sha256Digest::of(key.as_bytes()).to_hex()
}

/// Parses a base64 public key.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let bytes = B64
        .decode(text.trim())
        .map_err(|e| format!("public key is not base64: {e}"))?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| "an Ed25519 public key is 32 bytes".to_owned())?;
    VerifyingKey::from_bytes(&arr).map_err(|e| format!("not a valid Ed25519 public key: {e}"))
}

/// The base64 text of a public key.
pub fn public_key_text(key: &VerifyingKey) -> String {
    B64.encode(key.as_bytes())
}

/// A private key file's contents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PrivateKeyFile {
    /// Always `wavecast-ed25519-private-key`.
    #[serde(rename = "type")]
    pub kind: String,
    pub keyid: String,
    /// Base64 of the 32-byte seed.
    pub seed: String,
    /// A human label, e.g. `root` or `signing-2026-11`.
    #[serde(default)]
    pub name: String,
}

const PRIVATE_KEY_TYPE: &str = "wavecast-ed25519-private-key";

impl PrivateKeyFile {
    pub fn new(key: &SigningKey, name: &str) -> Self {
        Self {
            kind: PRIVATE_KEY_TYPE.to_owned(),
            keyid: key_id(&key.verifying_key()),
            seed: B64.encode(key.to_bytes()),
            name: name.to_owned(),
        }
    }

    /// Parses the JSON text of a private key file.
    pub fn parse(text: &str) -> Result<(SigningKey, String), String> {
        let file: Self =
            serde_json::from_str(text).map_err(|e| format!("not a Wavecast private key: {e}"))?;
        if file.kind != PRIVATE_KEY_TYPE {
            return Err(format!("unexpected key type {:?}", file.kind));
        }
        let seed: [u8; 32] = B64
            .decode(&file.seed)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or("private key seed must be 32 bytes of base64")?;
        let key = SigningKey::from_bytes(&seed);
        if key_id(&key.verifying_key()) != file.keyid {
            return Err("private key file is corrupt: keyid does not match the key".to_owned());
        }
        Ok((key, file.name))
    }
}

/// Signs `message` (already domain-separated by the caller).
pub fn sign(key: &SigningKey, message: &[u8]) -> Signature {
    key.sign(message)
}
