//! Check-in on the wire: the box reports what it has installed with a fresh
//! nonce; the server answers with the offers for it, signed by a key the
//! keyring allows to sign check-in answers, over the box's nonce, its id and
//! the time. A replayed answer (old nonce, old time) or one made for another
//! box is refused by [`verify_answer`], so an attacker can neither freeze a
//! box on old offers nor mix and match offers between boxes.

use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

use crate::{
    batch::{verify_batch, BatchProof},
    envelope::{pae, Envelope, CHECKIN_TYPE},
    keyring::{KeyRole, Keyring},
    trust::TrustError,
};

/// A component installed on the box.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Component {
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: semver::Version,
    #[serde(default)]
    pub security_version: u64,
}

/// `POST /api/v1/device/check-in`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The version of the keyring the box holds and will verify with: when
    /// it is the server's current one, the answer leaves the keyring out.
    /// Older agents do not send it and always get the keyring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyring_version: Option<u64>,
    /// The box verifies batch-signed answers ([`crate::batch`]). Older agents
    /// do not send it and always get a direct signature.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub batch_proofs: bool,
    /// How many licence tokens the box holds ([`crate::licence`]): a box
    /// holding some always gets its current set back, so a licence taken
    /// away reaches it. Older agents do not send it and hold none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence_tokens: Option<u32>,
}

/// An artifact to download for an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OfferArtifact {
    pub name: String,
    pub size: u64,
    pub sha256: crate::Sha256Digest,
    /// Path on the server (`/api/v1/artifacts/{sha256}`), fetched with Range.
    pub url: String,
}

/// One bundle offered to the box, in install order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The box's licence tokens, each signed on its own by a key with the
    /// `licence` role ([`crate::licence::LicenceToken`]). When present it
    /// is the box's complete set: tokens it holds that are not here are
    /// gone. Absent when the server has nothing to say about licences;
    /// older agents ignore it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licences: Option<Vec<Envelope>>,
}

/// What the server answers: the keyring vouching for the signing key (left
/// out when the box said it holds the current one), and the payload, signed
/// either directly in its envelope or as part of a batch (`batch`, when the
/// box asked for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckinAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyring: Option<Envelope>,
    pub answer: Envelope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchProof>,
}

/// An answer's payload in an unsigned envelope, and the bytes a batch
/// signature covers for it (its DSSE pre-authentication encoding).
pub fn answer_leaf(payload: &CheckinPayload) -> Result<(Envelope, Vec<u8>), TrustError> {
    let bytes =
        serde_json::to_vec(payload).map_err(|e| TrustError::Malformed(format!("check-in: {e}")))?;
    let leaf = pae(CHECKIN_TYPE, &bytes);
    Ok((Envelope::new(CHECKIN_TYPE, &bytes), leaf))
}

/// Verifies a check-in answer, signed directly or in a batch, for the box
/// `device_id` that sent `nonce`, against `keyring` (the answer's own,
/// already verified, or the one the box holds).
pub fn verify_checkin(
    keyring: &Keyring,
    answer: &CheckinAnswer,
    device_id: &str,
    nonce: &str,
    now: i64,
    max_age_secs: i64,
) -> Result<CheckinPayload, TrustError> {
    let Some(proof) = &answer.batch else {
        return verify_answer(keyring, &answer.answer, device_id, nonce, now, max_age_secs);
    };
    answer.answer.expect_type(CHECKIN_TYPE)?;
    let key = keyring
        .role_key(&proof.keyid, KeyRole::Checkin)?
        .ok_or_else(|| TrustError::UnknownKey {
            keyids: proof.keyid.clone(),
            keyring_version: keyring.version,
        })?;
    let bytes = answer.answer.payload_bytes()?;
    verify_batch(&key, &pae(CHECKIN_TYPE, &bytes), proof)?;
    check_payload(&bytes, device_id, nonce, now, max_age_secs)
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
    keyring.verify_role(answer, KeyRole::Checkin)?;
    check_payload(
        &answer.payload_bytes()?,
        device_id,
        nonce,
        now,
        max_age_secs,
    )
}

/// Whether the signed payload answers this box's request, now.
fn check_payload(
    bytes: &[u8],
    device_id: &str,
    nonce: &str,
    now: i64,
    max_age_secs: i64,
) -> Result<CheckinPayload, TrustError> {
    let payload: CheckinPayload = serde_json::from_slice(bytes)
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
            licences: None,
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

    fn batched(k: &SigningKey, payloads: &[CheckinPayload]) -> Vec<CheckinAnswer> {
        let (envs, leaves): (Vec<_>, Vec<_>) = payloads
            .iter()
            .map(|p| answer_leaf(p).expect("leaf"))
            .unzip();
        let proofs = crate::batch::sign_batch(k, &leaves);
        envs.into_iter()
            .zip(proofs)
            .map(|(answer, proof)| CheckinAnswer {
                keyring: None,
                answer,
                batch: Some(proof),
            })
            .collect()
    }

    #[test]
    fn batch_signed_answers_verify_each_for_its_own_box_only() {
        let (kr, k) = setup();
        let answers = batched(
            &k,
            &[
                payload("d1", "n1", 1000),
                payload("d2", "n2", 1000),
                payload("d3", "n3", 1000),
            ],
        );
        for (i, a) in answers.iter().enumerate() {
            let (d, n) = (format!("d{}", i + 1), format!("n{}", i + 1));
            assert_eq!(
                verify_checkin(&kr, a, &d, &n, 1010, 300)
                    .expect("ok")
                    .device_id,
                d
            );
        }
        let a = &answers[1];
        assert!(
            verify_checkin(&kr, a, "d1", "n2", 1010, 300).is_err(),
            "foreign"
        );
        assert!(
            verify_checkin(&kr, a, "d2", "n1", 1010, 300).is_err(),
            "replay"
        );
        assert!(
            verify_checkin(&kr, a, "d2", "n2", 5000, 300).is_err(),
            "stale"
        );
        // Another box's payload under this box's proof.
        let swapped = CheckinAnswer {
            answer: answers[0].answer.clone(),
            ..a.clone()
        };
        assert!(verify_checkin(&kr, &swapped, "d1", "n1", 1010, 300).is_err());
        // An altered payload.
        let mut altered = a.clone();
        altered.answer = answer_leaf(&CheckinPayload {
            next_checkin_secs: 1,
            ..payload("d2", "n2", 1000)
        })
        .expect("leaf")
        .0;
        assert!(matches!(
            verify_checkin(&kr, &altered, "d2", "n2", 1010, 300),
            Err(TrustError::BadSignature { .. })
        ));
        // A key the keyring does not allow for check-in answers.
        let mut bundle_only = Keyring::new(1, 2_000_000_000);
        bundle_only.add(&k.verifying_key(), KeyRole::BUNDLES, "signing");
        assert!(verify_checkin(&bundle_only, a, "d2", "n2", 1010, 300).is_err());
        // A revoked key.
        let mut revoked = kr.clone();
        revoked
            .revoked
            .insert(a.batch.as_ref().expect("batch").keyid.clone());
        assert!(matches!(
            verify_checkin(&revoked, a, "d2", "n2", 1010, 300),
            Err(TrustError::RevokedKey { .. })
        ));
    }

    #[test]
    fn old_and_new_agents_and_servers_understand_each_other() {
        // An old agent's request: no keyring version, no batch proofs.
        let old = r#"{"nonce":"0123456789abcdef","installed":[]}"#;
        let req: CheckinRequest = serde_json::from_str(old).expect("parse");
        assert_eq!((req.keyring_version, req.batch_proofs), (None, false));
        assert_eq!(serde_json::to_string(&req).expect("json"), old);
        // An old server's answer (keyring, direct signature) reads in a new agent.
        let (kr, k) = setup();
        let env = sign_answer(&payload("d1", "n1", 1000), &k).expect("sign");
        let old_answer = format!(
            r#"{{"keyring":{},"answer":{}}}"#,
            serde_json::to_string(&env).expect("json"),
            serde_json::to_string(&env).expect("json")
        );
        let a: CheckinAnswer = serde_json::from_str(&old_answer).expect("parse");
        assert!(a.keyring.is_some() && a.batch.is_none());
        verify_checkin(&kr, &a, "d1", "n1", 1010, 300).expect("verifies");
        // A new answer for an old agent has exactly the old shape.
        let json = serde_json::to_value(&a).expect("json");
        let keys: Vec<&String> = json.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["answer", "keyring"]);
    }
}
