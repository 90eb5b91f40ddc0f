//! Device enrolment on the wire.
//!
//! A box enrols by sending an [`EnrolClaim`] (serial, model, hardware
//! revision, its Ed25519 public key and the time) in an envelope signed by
//! that same key: the signature proves it holds the private key. The server
//! answers with an [`EnrolAnswer`]: pending until an operator accepts the box
//! (or at once when its serial was pre-authorised), then a credential the box
//! presents as a bearer token until it expires, when it enrols again with its
//! key to get a new one.

use base64::{engine::general_purpose::STANDARD as B64, Engine as _};
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::{
    envelope::Envelope,
    keys::{parse_public_key, public_key_text},
    trust::TrustError,
};

/// The payload type of an enrolment claim.
pub const ENROL_TYPE: &str = "application/vnd.wavecast.enrol+json";

/// What a box says about itself when it enrols.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolClaim {
    pub serial: String,
    pub model: String,
    pub hardware_revision: String,
    /// Base64 of the box's Ed25519 public key; the claim is signed by it.
    pub public_key: String,
    /// Unix seconds when the claim was made; the server refuses stale claims.
    pub timestamp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
}

/// Where an enrolment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum EnrolStatus {
    /// Waiting for an operator to accept the box; enrol again later.
    Pending,
    /// Enrolled: the answer carries a credential.
    Accepted,
}

/// The server's answer to an enrolment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrolAnswer {
    pub status: EnrolStatus,
    pub device_id: String,
    /// The bearer credential (only when accepted). Stored only hashed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
    /// Unix seconds when the credential stops working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_expires_at: Option<i64>,
    /// When pending: seconds to wait before enrolling again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl EnrolClaim {
    /// Signs the claim with the box's own key (which must be the claimed key).
    pub fn sign(&self, key: &SigningKey) -> Result<Envelope, TrustError> {
        if public_key_text(&key.verifying_key()) != self.public_key {
            return Err(TrustError::Malformed(
                "the claim names another public key".into(),
            ));
        }
        let bytes =
            serde_json::to_vec(self).map_err(|e| TrustError::Malformed(format!("claim: {e}")))?;
        let mut env = Envelope::new(ENROL_TYPE, &bytes);
        env.sign(key)?;
        Ok(env)
    }

    /// Opens an enrolment envelope: signed by the key it claims, made within
    /// `max_skew_secs` of `now`.
    pub fn open(env: &Envelope, now: i64, max_skew_secs: i64) -> Result<Self, TrustError> {
        env.expect_type(ENROL_TYPE)?;
        let claim: EnrolClaim = serde_json::from_slice(&env.payload_bytes()?)
            .map_err(|e| TrustError::Malformed(format!("enrolment claim: {e}")))?;
        let key = parse_public_key(&claim.public_key).map_err(TrustError::Malformed)?;
        if !env.verify_by(&key)? {
            return Err(TrustError::Malformed(
                "the claim is not signed by the key it names (proof of possession missing)".into(),
            ));
        }
        if (claim.timestamp - now).abs() > max_skew_secs {
            return Err(TrustError::Malformed(format!(
                "the claim was made at {} but the server's time is {now}: check the box's clock",
                claim.timestamp
            )));
        }
        Ok(claim)
    }
}

/// Base64 of raw bytes (for callers that build claims by hand).
pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(key: &SigningKey, ts: i64) -> EnrolClaim {
        EnrolClaim {
            serial: "SN1".into(),
            model: "X1".into(),
            hardware_revision: "A".into(),
            public_key: public_key_text(&key.verifying_key()),
            timestamp: ts,
            agent_version: None,
        }
    }

    #[test]
    fn a_signed_fresh_claim_opens() {
        let k = SigningKey::from_bytes(&[5; 32]);
        let env = claim(&k, 1000).sign(&k).expect("sign");
        assert_eq!(
            EnrolClaim::open(&env, 1100, 300).expect("opens"),
            claim(&k, 1000)
        );
    }

    #[test]
    fn stale_foreign_or_unsigned_claims_are_refused() {
        let k = SigningKey::from_bytes(&[5; 32]);
        let other = SigningKey::from_bytes(&[6; 32]);
        let env = claim(&k, 1000).sign(&k).expect("sign");
        assert!(EnrolClaim::open(&env, 2000, 300).is_err(), "stale");
        assert!(
            claim(&k, 1000).sign(&other).is_err(),
            "cannot sign another key's claim"
        );
        // A claim naming key k but signed by another key.
        let mut forged = Envelope::new(
            ENROL_TYPE,
            &serde_json::to_vec(&claim(&k, 1000)).expect("json"),
        );
        forged.sign(&other).expect("sign");
        assert!(EnrolClaim::open(&forged, 1000, 300).is_err());
        let mut unsigned = env.clone();
        unsigned.signatures.clear();
        assert!(EnrolClaim::open(&unsigned, 1000, 300).is_err());
    }
}
