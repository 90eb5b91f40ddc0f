//! Runs the real simulator (`wavecast-agent simulate`) against a test
//! server.

use std::process::Stdio;

use wavecast_protocol::keys::public_key_text;

use crate::{bin, trust::Keys, TestApp};

/// Runs the simulator to its end (4 threads, polling every second, the
/// admin's token) and returns its last line of output; fails the test if
/// it fails.
pub async fn run(app: &TestApp, keys: &Keys, args: &[&str]) -> String {
    let root = public_key_text(&keys.root.verifying_key());
    let out = tokio::process::Command::new(bin::path("wavecast-agent"))
        .arg("simulate")
        .args(["--server", &app.address, "--root-key", &root])
        .args(["--token", &app.admin_token, "--threads", "4", "--poll", "1"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the simulator runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "simulate {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().last().unwrap_or_default().to_owned()
}
