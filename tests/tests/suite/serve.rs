//! `wavecast serve` started as a user would: embedded defaults from an empty
//! directory, and bad configuration stopping the start with one clear line.

use std::{
    io::{BufRead, BufReader},
    net::TcpListener,
    process::{Command, Stdio},
};

use wavecast_e2e::bin;

/// Runs `wavecast serve` in `dir` and returns its one stderr error line and exit code.
fn failed_start(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (String, i32) {
    let mut cmd = Command::new(bin::path("wavecast"));
    cmd.current_dir(dir).arg("serve").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    // Never touch a real 8080 by accident.
    if !env.iter().any(|(k, _)| *k == "WAVECAST__HTTP__BIND") {
        cmd.env("WAVECAST__HTTP__BIND", "127.0.0.1:0");
    }
    if !env.iter().any(|(k, _)| *k == "WAVECAST__MQTT__LISTEN") {
        cmd.env("WAVECAST__MQTT__LISTEN", "127.0.0.1:0");
    }
    let out = cmd.stdin(Stdio::null()).output().expect("wavecast runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "exactly one error line in: {stderr}");
    (errors[0].to_owned(), out.status.code().unwrap_or(-1))
}

#[test]
fn starts_on_embedded_defaults_and_is_ready() {
    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(bin::path("wavecast"))
        .current_dir(dir.path())
        .arg("serve")
        .env("WAVECAST__HTTP__BIND", "127.0.0.1:0")
        .env("WAVECAST__MQTT__LISTEN", "127.0.0.1:0")
        .env("WAVECAST__LOG__FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut address = None;
    let mut mqtt = None;
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("line");
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if v["fields"]["message"] == "embedded MQTT broker listening" {
            mqtt = v["fields"]["addr"].as_str().map(str::to_owned);
        }
        if v["fields"]["message"] == "wavecast server listening" {
            address = v["fields"]["address"].as_str().map(str::to_owned);
            break;
        }
    }
    let address = address.expect("the server logs where it listens");
    let ready = http1::get(&format!("http://{address}/readyz"));
    let mqtt = mqtt.expect("the embedded MQTT broker logs where it listens");
    let broker = std::net::TcpStream::connect(&mqtt);
    child.kill().expect("kill");
    let _ = child.wait();
    assert_eq!(ready, 200);
    assert!(
        broker.is_ok(),
        "the embedded broker accepts connections on {mqtt}"
    );
    // Embedded defaults: SQLite database and blob directory under ./data.
    assert!(dir.path().join("data/wavecast.db").is_file());
    assert!(dir.path().join("data/blobs").is_dir());
}

/// A minimal blocking HTTP/1.1 GET returning the status code: the test runs
/// without an async runtime and reqwest's blocking client is not worth a feature.
mod http1 {
    use std::{
        io::{Read, Write},
        net::TcpStream,
    };

    pub fn get(url: &str) -> u16 {
        let rest = url.strip_prefix("http://").expect("http url");
        let (host, path) = rest.split_once('/').expect("path");
        let mut s = TcpStream::connect(host).expect("connect");
        write!(
            s,
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut buf = String::new();
        s.read_to_string(&mut buf).expect("read");
        buf.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }
}

#[test]
fn unknown_key_stops_the_start() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("w.toml"),
        "[http]\nbnid = \"127.0.0.1:1\"\n",
    )
    .expect("write");
    let (line, code) = failed_start(dir.path(), &["--config", "w.toml"], &[]);
    assert_ne!(code, 0);
    assert!(line.contains("bnid") && line.contains("w.toml"), "{line}");
}

#[test]
fn unknown_environment_key_stops_the_start() {
    let dir = tempfile::tempdir().expect("dir");
    let (line, code) = failed_start(dir.path(), &[], &[("WAVECAST__DATABASE__ULR", "x")]);
    assert_ne!(code, 0);
    assert!(line.to_lowercase().contains("ulr"), "{line}");
}

#[test]
fn unreadable_file_stops_the_start() {
    let dir = tempfile::tempdir().expect("dir");
    let (line, code) = failed_start(dir.path(), &["--config", "missing.toml"], &[]);
    assert_ne!(code, 0);
    assert!(line.contains("missing.toml"), "{line}");
}

#[test]
fn bad_database_url_stops_the_start() {
    let dir = tempfile::tempdir().expect("dir");
    let (line, code) = failed_start(
        dir.path(),
        &[],
        &[("WAVECAST__DATABASE__URL", "mysql://db/x")],
    );
    assert_ne!(code, 0);
    assert!(line.contains("database.url"), "{line}");

    // A well-formed URL to nothing that answers: named, password hidden.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let url = format!("postgres://wavecast:s3cret@127.0.0.1:{port}/wavecast");
    let (line, code) = failed_start(
        dir.path(),
        &[],
        &[
            ("WAVECAST__DATABASE__URL", &url),
            ("WAVECAST__DATABASE__CONNECT_TIMEOUT_SECS", "1"),
        ],
    );
    assert_ne!(code, 0);
    assert!(line.contains("cannot connect to database"), "{line}");
    assert!(!line.contains("s3cret"), "password hidden: {line}");
}

#[test]
fn port_in_use_stops_the_start() {
    let dir = tempfile::tempdir().expect("dir");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let (line, code) = failed_start(dir.path(), &[], &[("WAVECAST__HTTP__BIND", &addr)]);
    assert_ne!(code, 0);
    assert!(line.contains(&addr) && line.contains("in use"), "{line}");
}

#[test]
fn mqtt_port_in_use_stops_the_start() {
    let dir = tempfile::tempdir().expect("dir");
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let (line, code) = failed_start(dir.path(), &[], &[("WAVECAST__MQTT__LISTEN", &addr)]);
    assert_ne!(code, 0);
    assert!(line.contains(&addr) && line.contains("MQTT"), "{line}");
}

#[test]
fn external_mqtt_without_a_url_stops_the_start() {
    let dir = tempfile::tempdir().expect("dir");
    let (line, code) = failed_start(dir.path(), &[], &[("WAVECAST__MQTT__MODE", "external")]);
    assert_ne!(code, 0);
    assert!(line.contains("mqtt.url"), "{line}");
}

#[test]
fn config_default_prints_a_loadable_file() {
    let out = Command::new(bin::path("wavecast"))
        .args(["config", "default"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("default.toml");
    std::fs::write(&path, &out.stdout).expect("write");
    let show = Command::new(bin::path("wavecast"))
        .args(["config", "show", "--config"])
        .arg(&path)
        .output()
        .expect("runs");
    assert!(
        show.status.success(),
        "{}",
        String::from_utf8_lossy(&show.stderr)
    );
    assert!(String::from_utf8_lossy(&show.stdout).contains("127.0.0.1:8080"));
}
