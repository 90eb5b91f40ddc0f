//! A batch of health reports and faults as a box sends it, parsed and
//! checked against the limits the server keeps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wavecast_protocol::events::EventBatch;

fuzz_target!(|data: &[u8]| {
    if let Ok(batch) = serde_json::from_slice::<EventBatch>(data) {
        if batch.validate().is_ok() {
            for e in &batch.events {
                let _ = e.at();
            }
        }
    }
});
