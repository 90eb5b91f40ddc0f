//! The README is tested: its journey (every ```` ```sh journey ```` block,
//! in order) runs in one shell in an empty directory, with the binaries
//! this test run built on `PATH`, against the real `wavecast serve` it
//! starts. An example that stops working fails here, with the transcript.
//!
//! Two things differ from a person at a terminal, both said here: `cargo
//! build` is not run again (the harness built the binaries already), and
//! the server's ports are free ones instead of 8080 and 1883 (the
//! README's `127.0.0.1:8080` is rewritten to the port given to `serve`).

use std::{
    io::Read as _,
    net::TcpListener,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use wavecast_e2e::bin;

/// The journey may take this long (50 boxes installing two bundles in a
/// debug build, and a ticket's three faults).
const LIMIT: Duration = Duration::from_secs(420);

/// The `sh journey` blocks of `markdown`, in order.
fn journey(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start().starts_with("```sh journey") => current = Some(String::new()),
            Some(_) if line.trim_start().starts_with("```") => {
                blocks.extend(current.take());
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unclosed journey block");
    blocks
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn the_readme_journey_works_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let blocks = journey(&readme);
    assert!(
        blocks.len() >= 8,
        "the README's journey: {} blocks",
        blocks.len()
    );
    let all = blocks.join("\n");
    for step in [
        "wavecast keys init",
        "wavecast serve",
        "wavecast-firmware-samples",
        "wavecast bundle upload",
        "wavecast device import",
        "wavecast rollout create",
        "wavecast-agent simulate",
        "wavecast rollout wait",
        "wavecast ticket show",
        "wavecast ticket comment",
    ] {
        assert!(all.contains(step), "the journey shows {step}");
    }

    let http = free_port();
    let mqtt = free_port();
    let bins = bin::path("wavecast")
        .parent()
        .expect("the binaries' directory")
        .to_path_buf();
    let dir = tempfile::tempdir().expect("dir");
    let script = format!(
        "set -euo pipefail\n\
         # The harness built the binaries: `cargo build` has nothing to do.\n\
         cargo() {{ echo \"(cargo $*: built by the test harness)\"; }}\n\
         # Stop the background server however the script ends.\n\
         trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n\
         set -x\n{}",
        all.replace("127.0.0.1:8080", &format!("127.0.0.1:{http}"))
    );
    let path = format!(
        "{}:{}",
        bins.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("bash");
    // Its own process group, so everything it started can be stopped.
    std::os::unix::process::CommandExt::process_group(&mut child, 0);
    let mut child = child
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("WAVECAST__HTTP__BIND", format!("127.0.0.1:{http}"))
        .env("WAVECAST__MQTT__LISTEN", format!("127.0.0.1:{mqtt}"))
        .env_remove("WAVECAST_SERVER")
        .env_remove("WAVECAST_TOKEN")
        .env_remove("WAVECAST_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    // Both pipes are read on threads, so neither fills and blocks the shell.
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > LIMIT {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let stdout = out.join().expect("stdout read");
    let stderr = err.join().expect("stderr read");
    let log = std::fs::read_to_string(dir.path().join("demo/wavecast.log")).unwrap_or_default();
    let transcript = format!(
        "--- commands and errors\n{stderr}\n--- output\n{stdout}\n--- server log (last 60 lines)\n{}",
        log.lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    match status {
        Some(s) => assert!(s.success(), "the journey failed ({s}):\n{transcript}"),
        None => panic!(
            "the journey took longer than {} s:\n{transcript}",
            LIMIT.as_secs()
        ),
    }

    // What a reader is promised along the way.
    for (promise, seen) in [
        ("the rollout completes", stdout.contains("completed")),
        (
            "the box's page shows its rollout history",
            stdout.contains("x1-firmware@4.2.0"),
        ),
        (
            "the ticket moved to the VIP plan and its dedicated agent",
            stdout.contains("vip") && stdout.contains("ines"),
        ),
        (
            "the reply is in the ticket's log",
            stdout.contains("A replacement box is on its way"),
        ),
        ("the ticket is resolved", stdout.contains("resolved")),
        (
            "the server said which check-in key it uses",
            log.contains("check-in answers are signed"),
        ),
    ] {
        assert!(seen, "{promise}:\n{transcript}");
    }
    assert!(
        !log.contains("NO CHECK-IN KEY"),
        "keys were made before the server started:\n{transcript}"
    );
}

#[test]
fn journey_blocks_are_found_in_order() {
    let md = "text\n```sh journey\na\nb\n```\n```sh\nnot this\n```\n```sh journey\nc\n```\n";
    assert_eq!(journey(md), ["a\nb\n", "c\n"]);
}
