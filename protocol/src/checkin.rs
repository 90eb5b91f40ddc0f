//! Check-in on the wire: the box reports what it has installed with a fresh
//! nonce; the server answers with the offers for it, signed by a key the
//! keyring allows to sign check-in answers, over the box's nonce, its id and
//! the time. A replayed answer (old nonce, old time) or one made for another
//! box is refused by [`verify_answer`], so an attacker can neither freeze a
//! box on old offers nor mix and match offers between boxes.

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::{
    envelope::{Envelope, CHECKIN_TYPE},
    keyring::{KeyRole, Keyring},
    keys::parse_public_key,
    trust::TrustError,
};

/// A component installed on the box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    pub name: String,
    pub version: semver::Version,
    #[serde(default)]
    pub security_version: u64,
}

/// `POST /api/v1/device/check-in`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckinRequest {
    /// 16 to 64 random characters, fresh for every check-in.
    pub nonce: String,
    pub installed: Vec<Component>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_slot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    /// IANA time zone of the box, e.g. `Europe/Paris` (for maintenance windows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

/// An artifact to download for an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferArtifact {
    pub name: String,
    pub size: u64,
    pub sha256: crate::Sha256Digest,
    /// Path on the server (`/api/v1/artifacts/{sha256}`), fetched with Range.
    pub url: String,
}

/// One bundle offered to the box, in install order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub rollout_id: String,
    /// Names the bundle in status reports.
    pub bundle_id: String,
    /// The signed manifest: the box verifies it against the keyring too.
    pub manifest: Envelope,
    pub artifacts: Vec<OfferArtifact>,
    /// The operator allows installing a lower version (a rollback).
    #[serde(default)]
    pub allow_downgrade: bool,
}

/// The signed part of a check-in answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckinPayload {
    pub device_id: String,
    /// The nonce of the request this answers.
    pub nonce: String,
    /// Unix seconds.
    pub issued_at: i64,
    pub offers: Vec<Offer>,
    /// Seconds until the next check-in (jitter included).
    pub next_checkin_secs: u64,
    /// The MQTT broker (`mqtt://host:port`) where the box may listen for
    /// nudges and publish reports; absent when the server runs without MQTT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt_url: Option<String>,
}

/// What the server answers: the keyring vouching for the signing key, and
/// the signed payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckinAnswer {
    pub keyring: Envelope,
    pub answer: Envelope,
}

/// Signs a check-in payload.
pub fn sign_answer(payload: &CheckinPayload, key: &SigningKey) -> Result<Envelope, TrustError> {
    let bytes =
        serde_json::to_vec(payload).map_err(|e| TrustError::Malformed(format!("check-in: {e}")))?;
    let mut env = Envelope::new(CHECKIN_TYPE, &bytes);
    env.sign(key)?;
    Ok(env)
}

/// Verifies a check-in answer for the box `device_id` that sent `nonce`:
/// signed by a non-revoked keyring key with the `checkin` role, for this box
/// and this nonce, issued within `max_age_secs` of `now`.
pub fn verify_answer(
    keyring: &Keyring,
    answer: &Envelope,
    device_id: &str,
    nonce: &str,
    now: i64,
    max_age_secs: i64,
) -> Result<CheckinPayload, TrustError> {
    answer.expect_type(CHECKIN_TYPE)?;
    let mut signed = false;
    for s in &answer.signatures {
        if keyring.revoked.contains(&s.keyid) {
            return Err(TrustError::RevokedKey {
                keyid: s.keyid.clone(),
                keyring_version: keyring.version,
            });
        }
        let Some(entry) = keyring.keys.iter().find(|k| k.keyid == s.keyid) else {
            continue;
        };
        if !entry.roles.contains(&KeyRole::Checkin) {
            return Err(TrustError::Malformed(format!(
                "key {} may not sign check-in answers",
                entry.keyid
            )));
        }
        let key = parse_public_key(&entry.public_key).map_err(TrustError::Malformed)?;
        signed |= answer.verify_by(&key)?;
    }
    if !signed {
        let ids: Vec<&str> = answer.signatures.iter().map(|s| s.keyid.as_str()).collect();
        return Err(TrustError::UnknownKey {
            keyids: ids.join(", "),
            keyring_version: keyring.version,
        });
    }
    let payload: CheckinPayload = serde_json::from_slice(&answer.payload_bytes()?)
        .map_err(|e| TrustError::Malformed(format!("check-in answer: {e}")))?;
    if payload.device_id != device_id {
        return Err(TrustError::Malformed(format!(
            "the answer was made for device {}, not this one",
            payload.device_id
        )));
    }
    if payload.nonce != nonce {
        return Err(TrustError::Malformed(
            "the answer carries another nonce: a replay".into(),
        ));
    }
    if (now - payload.issued_at).abs() > max_age_secs {
        return Err(TrustError::Malformed(format!(
            "the answer was issued at {}, too far from now ({now})",
            payload.issued_at
        )));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (Keyring, SigningKey) {
        let signer = SigningKey::from_bytes(&[8; 32]);
        let mut kr = Keyring::new(1, 2_000_000_000);
        kr.add(&signer.verifying_key(), [KeyRole::Checkin], "online");
        (kr, signer)
    }

    fn payload(device: &str, nonce: &str, at: i64) -> CheckinPayload {
        CheckinPayload {
            device_id: device.into(),
            nonce: nonce.into(),
            issued_at: at,
            offers: vec![],
            next_checkin_secs: 1800,
            mqtt_url: None,
        }
    }

    #[test]
    fn answers_from_servers_without_mqtt_still_parse() {
        // Older servers send no `mqtt_url`; newer agents must read them.
        let json =
            r#"{"device_id":"d1","nonce":"n","issued_at":1,"offers":[],"next_checkin_secs":60}"#;
        let p: CheckinPayload = serde_json::from_str(json).expect("parse");
        assert_eq!(p.mqtt_url, None);
        assert!(!serde_json::to_string(&p)
            .expect("json")
            .contains("mqtt_url"));
    }

    #[test]
    fn a_fresh_answer_for_this_box_verifies() {
        let (kr, k) = setup();
        let env = sign_answer(&payload("d1", "n1", 1000), &k).expect("sign");
        assert_eq!(
            verify_answer(&kr, &env, "d1", "n1", 1010, 300)
                .expect("ok")
                .nonce,
            "n1"
        );
    }

    #[test]
    fn replayed_foreign_stale_or_altered_answers_are_refused() {
        let (kr, k) = setup();
        let env = sign_answer(&payload("d1", "n1", 1000), &k).expect("sign");
        assert!(
            verify_answer(&kr, &env, "d1", "n2", 1010, 300).is_err(),
            "replay: other nonce"
        );
        assert!(
            verify_answer(&kr, &env, "d2", "n1", 1010, 300).is_err(),
            "another box's answer"
        );
        assert!(
            verify_answer(&kr, &env, "d1", "n1", 5000, 300).is_err(),
            "stale"
        );
        let mut altered = env.clone();
        altered.payload = crate::device::b64(
            &serde_json::to_vec(&CheckinPayload {
                next_checkin_secs: 1,
                ..payload("d1", "n1", 1000)
            })
            .expect("json"),
        );
        assert!(matches!(
            verify_answer(&kr, &altered, "d1", "n1", 1010, 300),
            Err(TrustError::BadSignature { .. })
        ));
        // A bundle-signing key may not sign check-in answers.
        let mut bundle_only = Keyring::new(1, 2_000_000_000);
        bundle_only.add(&k.verifying_key(), KeyRole::BUNDLES, "signing");
        assert!(verify_answer(&bundle_only, &env, "d1", "n1", 1010, 300).is_err());
    }
}
