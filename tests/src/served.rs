//! `wavecast serve`, the real binary, started from a configuration file as
//! an operator starts it, for tests that need the process itself (kills,
//! restarts, real clients); and a [`TestApp`] that talks to it.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use crate::{bin, trust::Keys, Backend, TestApp};

/// Writes a configuration for `wavecast serve` in `dir` — loopback on
/// `port`, SQLite and blobs in `dir`, JSON logs, `keys.checkin` as the
/// online key — followed by `extra` (whole TOML sections), and returns its
/// path.
pub fn config_file(dir: &Path, keys: &Keys, port: u16, extra: &str) -> std::path::PathBuf {
    let db = format!("sqlite://{}", dir.join("w.db").display());
    config_file_on(dir, keys, port, &db, &dir.join("blobs"), extra)
}

/// [`config_file`] on the database at `database_url` with blobs in `blobs`
/// (instances that share both).
pub fn config_file_on(
    dir: &Path,
    keys: &Keys,
    port: u16,
    database_url: &str,
    blobs: &Path,
    extra: &str,
) -> std::path::PathBuf {
    let key_file = dir.join("online.key");
    let online = wavecast_protocol::keys::PrivateKeyFile::new(&keys.checkin, "online");
    std::fs::write(&key_file, serde_json::to_string(&online).expect("json")).expect("key");
    let conf = dir.join("wavecast.toml");
    std::fs::write(
        &conf,
        format!(
            r#"
[http]
bind = "127.0.0.1:{port}"
[database]
url = "{database_url}"
[blobs]
dir = "{blobs}"
[log]
format = "json"
filter = "info"
[signing]
key_file = "{key}"
{extra}"#,
            blobs = blobs.display(),
            key = key_file.display(),
        ),
    )
    .expect("config");
    conf
}

/// Starts `wavecast serve --config`, waits until it listens, and returns it
/// with the bootstrap token it printed (on a first start). The server must
/// log as JSON (`[log] format = "json"`).
pub fn serve(conf: &Path) -> (Child, Option<String>) {
    let mut child = Command::new(bin::path("wavecast"))
        .args(["serve", "--config"])
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wavecast serve starts");
    let (tx, tokens) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(t) = line.split_whitespace().find(|w| w.starts_with("wc_")) {
                let _ = tx.send(t.to_owned());
            }
        }
    });
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let listening = lines.by_ref().map_while(Result::ok).any(|l| {
        serde_json::from_str::<serde_json::Value>(&l)
            .is_ok_and(|v| v["fields"]["message"] == "wavecast server listening")
    });
    assert!(listening, "wavecast serve did not start");
    // Keep draining the log so the server never blocks on a full pipe;
    // warnings and errors go to the test's output.
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            if l.contains("\"WARN\"") || l.contains("\"ERROR\"") {
                eprintln!("server: {l}");
            }
        }
    });
    // The banner is printed before the server logs that it listens.
    (child, tokens.recv_timeout(Duration::from_millis(500)).ok())
}

/// Kills a server dead and reaps it.
pub fn kill_dead(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A [`TestApp`] for a server running in another process at `address`
/// (its clock and jobs are its own: tests of it keep real time).
pub fn app_for(address: &str, token: &str) -> TestApp {
    TestApp {
        ca_file: None,
        address: address.to_owned(),
        admin_token: token.to_owned(),
        bootstrap_token: token.to_owned(),
        backend: Backend::Sqlite,
        http: reqwest::Client::new(),
        config: wavecast_server::platform::config::Config::default(),
        mqtt_port: None,
        dir: tempfile::tempdir().expect("dir"),
        clock: wavecast_server::platform::clock::Clock::system(),
        jobs: wavecast_server::platform::jobs::Jobs::default(),
    }
}
