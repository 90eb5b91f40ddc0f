//! A topic as a box (or anyone) publishes to it: a device topic parses to
//! one box and channel, and names exactly that topic again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wavecast_protocol::mqtt::{parse_topic, topic};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((id, channel)) = parse_topic(text) {
        assert!(!id.is_empty() && !id.contains(['+', '#', '/']));
        assert_eq!(topic(id, channel), text);
    }
});
