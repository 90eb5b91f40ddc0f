//! The `wavecast` binary: parses the command line and hands over to the library.

use clap::Parser;

// Many small allocations per request (JSON, headers, answers): mimalloc
// serves them faster than glibc's malloc (see BENCHMARKS.md, check-ins).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = wavecast_server::cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("wavecast: error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(wavecast_server::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line naming the problem and its causes. Some libraries
            // repeat their cause in their own message; say each part once.
            let mut parts: Vec<String> = Vec::new();
            for cause in e.chain() {
                let text = cause.to_string();
                if !parts.iter().any(|p| p.contains(&text)) {
                    parts.push(text);
                }
            }
            eprintln!("wavecast: error: {}", parts.join(": "));
            std::process::ExitCode::FAILURE
        }
    }
}
