//! A check-in answer as JSON (direct signature or batch proof) verified as a
//! box verifies it: keyring, signature or Merkle proof, box, nonce, time,
//! and every offered manifest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wavecast_fuzz::{keyring, DEVICE, NONCE, NOW};
use wavecast_protocol::{
    checkin::{verify_checkin, CheckinAnswer},
    keyring::verify_manifest,
};

fuzz_target!(|data: &[u8]| {
    let Ok(answer) = serde_json::from_slice::<CheckinAnswer>(data) else {
        return;
    };
    let kr = keyring();
    if let Ok(payload) = verify_checkin(&kr, &answer, DEVICE, NONCE, NOW, 300) {
        assert_eq!(payload.device_id, DEVICE);
        assert_eq!(payload.nonce, NONCE);
        for offer in &payload.offers {
            let _ = verify_manifest(&kr, &offer.manifest);
        }
    }
});
