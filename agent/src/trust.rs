//! What the box believes. It pins the operator's root public key and
//! remembers the newest keyring version it has accepted (never going back);
//! every check-in answer must be signed for this box and this nonce, and
//! every offered manifest must verify under the keyring, before anything is
//! downloaded.

use ed25519_dalek::VerifyingKey;
use wavecast_protocol::{
    checkin::{verify_answer, CheckinAnswer, CheckinPayload},
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
    /// The highest keyring version accepted so far (anti-rollback).
    pub keyring_version: u64,
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
            keyring_version: 0,
        }
    }

    /// Verifies a check-in answer for `device_id` and `nonce` at `now`, and
    /// every manifest it offers. Raises the remembered keyring version.
    pub fn verify(
        &mut self,
        answer: &CheckinAnswer,
        device_id: &str,
        nonce: &str,
        now: i64,
    ) -> Result<(CheckinPayload, Vec<VerifiedOffer>, Keyring), TrustError> {
        let keyring = verify_keyring(&self.root, &answer.keyring, now, self.keyring_version)?;
        let payload = verify_answer(
            &keyring,
            &answer.answer,
            device_id,
            nonce,
            now,
            MAX_ANSWER_AGE,
        )?;
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
        self.keyring_version = keyring.version;
        Ok((payload, offers, keyring))
    }
}
