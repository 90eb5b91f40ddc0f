//! A keyring envelope as JSON: opened under the fixed root, judged for
//! freshness, and asked what each listed key may sign.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wavecast_fuzz::{root, NOW};
use wavecast_protocol::{envelope::Envelope, keyring::verify_keyring, manifest::Kind};

fuzz_target!(|data: &[u8]| {
    let Ok(env) = serde_json::from_slice::<Envelope>(data) else {
        return;
    };
    if let Ok(kr) = verify_keyring(&root().verifying_key(), &env, NOW, 1) {
        for k in &kr.keys {
            let _ = kr.may_sign(&k.keyid, Kind::Firmware, NOW);
        }
        // What a tool writes back reads the same.
        let again = serde_json::to_vec(&kr).expect("a keyring serialises");
        let back: wavecast_protocol::keyring::Keyring =
            serde_json::from_slice(&again).expect("and reads back");
        assert_eq!(back, kr);
    }
});
