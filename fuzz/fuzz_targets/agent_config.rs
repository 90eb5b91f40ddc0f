//! The agent's configuration file (TOML) as an installer or a person wrote
//! it: parsed and checked, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wavecast_agent::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(c) = Config::parse(text) {
        let _ = c.root_key();
        let _ = c.serial();
    }
});
