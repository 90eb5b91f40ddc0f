//! A manifest envelope as JSON, verified against the fixed keyring; and the
//! same bytes parsed as a bare manifest payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wavecast_fuzz::keyring;
use wavecast_protocol::{envelope::Envelope, keyring::verify_manifest, manifest::Manifest};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::parse(data) {
        let _ = m.payload_size();
        let _ = m.is_compatible("X1", "A");
    }
    let Ok(env) = serde_json::from_slice::<Envelope>(data) else {
        return;
    };
    let _ = verify_manifest(&keyring(), &env);
});
