//! What the box believes. It pins the operator's root public key and
//! remembers the newest keyring it has accepted (never going back to an
//! older one); every check-in answer must be signed for this box and this nonce, and
//! every offered manifest must verify under the keyring, before anything is
//! downloaded.

use ed25519_dalek::VerifyingKey;
use wavecast_protocol::{
    checkin::{verify_checkin, CheckinAnswer, CheckinPayload},
    keyring::{verify_keyring, verify_manifest, Keyring},
    manifest::Manifest,
    TrustError,
};

/// How old a check-in answer may be, in seconds.
pub const MAX_ANSWER_AGE: i64 = 300;

/// The box's trust state.
#[derive(Debug, Clone)]
pub struct Trust {
    pub root: VerifyingKey,
    /// The newest keyring accepted: no older version is accepted after it
    /// (anti-rollback), and answers may leave it out.
    pub keyring: Option<Keyring>,
}

/// A verified offer: the manifest the box may install.
#[derive(Debug, Clone)]
pub struct VerifiedOffer {
    pub offer: wavecast_protocol::checkin::Offer,
    pub manifest: Manifest,
}

impl Trust {
    pub fn new(root: VerifyingKey) -> Self {
        Self {
            root,
            keyring: None,
        }
    }

    /// The keyring version to name in a check-in request: the one held, if
    /// any (the server then leaves the keyring out of its answer).
    pub fn held_keyring(&self) -> Option<u64> {
        self.keyring.as_ref().map(|k| k.version)
    }

    /// Verifies a check-in answer for `device_id` and `nonce` at `now`, and
    /// every manifest it offers. Keeps the newest keyring it has accepted.
    pub fn verify(
        &mut self,
        answer: &CheckinAnswer,
        device_id: &str,
        nonce: &str,
        now: i64,
    ) -> Result<(CheckinPayload, Vec<VerifiedOffer>, Keyring), TrustError> {
        let keyring = match (&answer.keyring, &self.keyring) {
            (Some(env), held) => {
                let have = held.as_ref().map_or(0, |k| k.version);
                verify_keyring(&self.root, env, now, have)?
            }
            (None, Some(held)) if held.expires_at <= now => {
                return Err(TrustError::KeyringExpired {
                    version: held.version,
                    expires_at: held.expires_at,
                    now,
                })
            }
            (None, Some(held)) => held.clone(),
            (None, None) => {
                return Err(TrustError::Malformed(
                    "the answer carries no keyring and this box holds none".into(),
                ))
            }
        };
        let payload = verify_checkin(&keyring, answer, device_id, nonce, now, MAX_ANSWER_AGE)?;
        let offers = payload
            .offers
            .iter()
            .map(|o| {
                let (manifest, _) = verify_manifest(&keyring, &o.manifest)?;
                Ok(VerifiedOffer {
                    offer: o.clone(),
                    manifest,
                })
            })
            .collect::<Result<Vec<_>, TrustError>>()?;
        self.keyring = Some(keyring.clone());
        Ok((payload, offers, keyring))
    }
}
