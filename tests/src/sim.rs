//! Runs the real simulator (`wavecast-agent simulate`) against a test
//! server.

use std::process::Stdio;

use wavecast_protocol::keys::public_key_text;

use crate::{bin, trust::Keys, TestApp};

/// Runs the simulator to its end (4 threads, polling every second, the
/// admin's token) and returns its last line of output; fails the test if
/// it fails.
pub async fn run(app: &TestApp, keys: &Keys, args: &[&str]) -> String {
    run_at(&app.address, &app.admin_token, keys, args).await
}

/// [`run`] against the server at `server` with the operator `token`
/// (`args` may override the threads and the poll: the last one counts).
pub async fn run_at(server: &str, token: &str, keys: &Keys, args: &[&str]) -> String {
    let root = public_key_text(&keys.root.verifying_key());
    let out = tokio::process::Command::new(bin::path("wavecast-agent"))
        .arg("simulate")
        .args(["--server", server, "--root-key", &root])
        .args(["--token", token, "--threads", "4", "--poll", "1"])
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

/// How many events the database holds once it holds at least `sent` (the
/// server stores in batches), or after 30 s: the caller compares.
pub async fn stored_events(db: &sea_orm::DatabaseConnection, sent: u64) -> u64 {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let stored = wavecast_server::platform::entities::device_event::Entity::find()
            .count(db)
            .await
            .expect("count");
        if stored >= sent || std::time::Instant::now() > deadline {
            return stored;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}
