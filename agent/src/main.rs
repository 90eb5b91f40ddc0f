//! The `wavecast-agent` binary.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version" | "-V" | "version") => {
            println!(
                "wavecast-agent {} (protocol {})",
                wavecast_agent::AGENT_VERSION,
                wavecast_agent::PROTOCOL_VERSION
            );
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "usage: wavecast-agent --version\n\
                 The update service (run, status, fault report, simulate) is not built yet."
            );
            ExitCode::from(2)
        }
    }
}
