//! Signed envelopes: a payload carried as exact bytes with signatures over
//! them, in the shape of DSSE (Dead Simple Signing Envelope).
//!
//! Each signature is an Ed25519 signature over
//! `PAE(payload_type, payload) = "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload`
//! where `LEN` is the byte length in ASCII decimal and `SP` one space. The
//! payload type is part of what is signed, so a keyring signature can never
//! be passed off as a manifest signature. No canonicalisation: the signed
//! bytes are exactly the base64-decoded `payload`.

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use ed25519_dalek::{Signature, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::{keys::key_id, trust::TrustError};

/// The payload type of a bundle manifest.
pub const MANIFEST_TYPE: &str = "application/vnd.wavecast.manifest+json";
/// The payload type of a keyring.
pub const KEYRING_TYPE: &str = "application/vnd.wavecast.keyring+json";
/// The payload type of a signed check-in answer.
pub const CHECKIN_TYPE: &str = "application/vnd.wavecast.checkin+json";
/// The payload type of a licence token.
pub const LICENCE_TYPE: &str = "application/vnd.wavecast.licence+json";
/// The payload type of a signed licence validation answer.
pub const VALIDATION_TYPE: &str = "application/vnd.wavecast.licence-validation+json";

/// One signature in an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvelopeSignature {
    pub keyid: String,
    /// Base64 of the 64-byte Ed25519 signature.
    pub sig: String,
}

/// A payload and its signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Envelope {
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// Base64 of the exact payload bytes.
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

/// The DSSE pre-authentication encoding of a payload.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// An unsigned envelope around `payload`.
    pub fn new(payload_type: &str, payload: &[u8]) -> Self {
        Self {
            payload_type: payload_type.to_owned(),
            payload: B64.encode(payload),
            signatures: Vec::new(),
        }
    }

    /// Adds a signature by `key`.
    pub fn sign(&mut self, key: &SigningKey) -> Result<(), TrustError> {
        let payload = self.payload_bytes()?;
        let sig = crate::keys::sign(key, &pae(&self.payload_type, &payload));
        self.signatures.push(EnvelopeSignature {
            keyid: key_id(&key.verifying_key()),
            sig: B64.encode(sig.to_bytes()),
        });
        Ok(())
    }

    /// The exact payload bytes.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, TrustError> {
        B64.decode(&self.payload)
            .map_err(|e| TrustError::Malformed(format!("envelope payload is not base64: {e}")))
    }

    /// Checks the payload type.
    pub fn expect_type(&self, expected: &'static str) -> Result<(), TrustError> {
        if self.payload_type == expected {
            Ok(())
        } else {
            Err(TrustError::WrongPayloadType {
                expected,
                found: self.payload_type.clone(),
            })
        }
    }

    /// Whether `key` made a valid signature over this envelope. Signatures
    /// carrying `key`'s id (hex in either case) that do not verify are an
    /// error, not a miss: a payload changed after signing must be refused
    /// as such. The same signature listed twice counts once.
    pub fn verify_by(&self, key: &VerifyingKey) -> Result<bool, TrustError> {
        let id = key_id(key);
        let payload = self.payload_bytes()?;
        let message = pae(&self.payload_type, &payload);
        let mut found = false;
        for s in self
            .signatures
            .iter()
            .filter(|s| s.keyid.eq_ignore_ascii_case(&id))
        {
            found = true;
            let bytes: [u8; 64] = B64
                .decode(&s.sig)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| TrustError::BadSignature { keyid: id.clone() })?;
            key.verify(&message, &Signature::from_bytes(&bytes))
                .map_err(|_| TrustError::BadSignature { keyid: id.clone() })?;
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // From the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn signature_verifies_and_edits_do_not() {
        let k = key(1);
        let mut env = Envelope::new(MANIFEST_TYPE, b"{\"a\":1}");
        env.sign(&k).expect("signs");
        assert_eq!(env.verify_by(&k.verifying_key()), Ok(true));
        assert_eq!(
            env.verify_by(&key(2).verifying_key()),
            Ok(false),
            "no signature by key 2"
        );

        let mut edited = env.clone();
        edited.payload = B64.encode(b"{\"a\":2}");
        assert!(matches!(
            edited.verify_by(&k.verifying_key()),
            Err(TrustError::BadSignature { .. })
        ));

        let mut retyped = env.clone();
        retyped.payload_type = KEYRING_TYPE.to_owned();
        assert!(
            retyped.verify_by(&k.verifying_key()).is_err(),
            "the type is signed too"
        );
    }
}
