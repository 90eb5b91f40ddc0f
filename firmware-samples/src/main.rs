//! The sample generator's command line.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("wavecast-firmware-samples: the sample generator is not built yet");
    ExitCode::from(2)
}
