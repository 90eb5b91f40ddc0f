//! An enrolment claim envelope as JSON, opened as the server opens it:
//! signed by the key it claims, within the clock skew.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wavecast_fuzz::NOW;
use wavecast_protocol::{device::EnrolClaim, envelope::Envelope};

fuzz_target!(|data: &[u8]| {
    let Ok(env) = serde_json::from_slice::<Envelope>(data) else {
        return;
    };
    if let Ok(claim) = EnrolClaim::open(&env, NOW, 300) {
        assert!((claim.timestamp - NOW).abs() <= 300);
    }
});
