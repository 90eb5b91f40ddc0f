//! Log lines on standard error, where systemd's journal (or the simulator's
//! terminal) picks them up. A logging framework would add size and nothing
//! a box needs: the journal adds the time stamps.

/// Something went as planned.
pub fn info(msg: &str) {
    eprintln!("<6>wavecast-agent: {msg}");
}

/// Something went wrong and will be retried or reported.
pub fn warn(msg: &str) {
    eprintln!("<4>wavecast-agent: {msg}");
}
