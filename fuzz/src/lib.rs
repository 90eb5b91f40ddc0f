//! What the fuzz targets share: fixed keys (the seed corpora are signed with
//! them, so mutations start from inputs that verify) and a keyring, the
//! moment they are judged at, and the box a check-in answer is for.

use ed25519_dalek::SigningKey;
use wavecast_protocol::keyring::{KeyRole, Keyring};

/// The time every target judges at (keyrings in the seeds expire later).
pub const NOW: i64 = 1_800_000_000;
/// The box and nonce the check-in seeds answer.
pub const DEVICE: &str = "box-a";
pub const NONCE: &str = "nonce-of-box-a-0001";

pub fn root() -> SigningKey {
    SigningKey::from_bytes(&[1; 32])
}

/// Signs bundles of every kind.
pub fn release() -> SigningKey {
    SigningKey::from_bytes(&[2; 32])
}

/// Signs check-in answers only.
pub fn checkin() -> SigningKey {
    SigningKey::from_bytes(&[4; 32])
}

/// The keyring the targets trust: the release and check-in keys, split.
pub fn keyring() -> Keyring {
    let mut kr = Keyring::new(1, NOW + 86_400);
    kr.add(&release().verifying_key(), KeyRole::BUNDLES, "release-1");
    kr.add(&checkin().verifying_key(), [KeyRole::Checkin], "checkin-1");
    kr
}
