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
    // The command's own error lines, not log lines that quote an error.
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("error:") && !l.contains(" WARN ") && !l.contains(" INFO "))
        .collect();
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
fn a_second_serve_on_one_sqlite_file_is_refused() {
    use wavecast_e2e::{
        served::{config_file, kill_dead, serve},
        trust::Keys,
    };
    let dir = tempfile::tempdir().expect("dir");
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let conf = config_file(
        dir.path(),
        &Keys::new(),
        port,
        "[mqtt]\nlisten = \"127.0.0.1:0\"\n",
    );
    let conf_arg = conf.to_str().expect("utf-8 path");
    let (mut first, _) = serve(&conf);
    let (line, code) = failed_start(dir.path(), &["--config", conf_arg], &[]);
    assert_ne!(code, 0);
    assert!(
        line.contains("another `wavecast serve` already runs on the SQLite database")
            && line.contains("w.db")
            && line.contains("PostgreSQL"),
        "{line}"
    );
    // The first one is untouched, and once it is gone (killed, not stopped:
    // the system releases the claim) the database is free again.
    assert!(first.try_wait().expect("status").is_none(), "still running");
    kill_dead(&mut first);
    let (mut again, _) = serve(&conf);
    kill_dead(&mut again);
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

/// Runs `wavecast` (or another workspace binary) in `dir` and returns its
/// output.
fn run(
    dir: &std::path::Path,
    program: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut cmd = Command::new(bin::path(program));
    cmd.current_dir(dir).args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("runs")
}

/// A server started before its keys exist says so loudly; boxes are told
/// 503 naming the setting, and the simulator fails instead of reporting a
/// fleet that never ran; once `wavecast keys init` has written the key
/// where the server looks, check-ins work without a restart.
#[test]
fn without_its_check_in_key_the_server_says_so_until_the_key_appears() {
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
    let mut lines = BufReader::new(stderr).lines();
    let (mut address, mut warned) = (None, None);
    for line in lines.by_ref() {
        let line = line.expect("line");
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if v["level"] == "WARN"
            && v["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("NO CHECK-IN KEY"))
        {
            warned = v["fields"]["message"].as_str().map(str::to_owned);
        }
        if v["fields"]["message"] == "wavecast server listening" {
            address = v["fields"]["address"].as_str().map(str::to_owned);
            break;
        }
    }
    // Keep reading the log (the server never blocks on a full pipe), for
    // the checks at the end.
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let kept = log.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            kept.lock().expect("log").push(line);
        }
    });
    let mut banner = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    while !banner.contains("tokens create") {
        let mut line = String::new();
        if stdout.read_line(&mut line).expect("banner") == 0 {
            break;
        }
        banner.push_str(&line);
    }
    std::thread::spawn(move || for _ in stdout.lines() {});
    let server = format!(
        "http://{}",
        address.expect("the server logs where it listens")
    );
    let warned = warned.expect("a loud warning that boxes cannot be answered");
    assert!(
        warned.contains("wavecast keys init") && warned.contains("signing.key_file"),
        "{warned}"
    );
    let token = banner
        .split_whitespace()
        .find(|w| w.starts_with("wc_"))
        .expect("the bootstrap token")
        .to_owned();

    // Keys made elsewhere, not yet where the server looks.
    let keys = tempfile::tempdir().expect("keys dir");
    let init = run(keys.path(), "wavecast", &["keys", "init"], &[]);
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let root = keys.path().join("wavecast-keys/root.pub");
    let root = root.to_str().expect("path");
    let env = [
        ("WAVECAST_SERVER", server.as_str()),
        ("WAVECAST_TOKEN", token.as_str()),
    ];
    let publish = run(keys.path(), "wavecast", &["keys", "publish"], &env);
    assert!(
        publish.status.success(),
        "{}",
        String::from_utf8_lossy(&publish.stderr)
    );
    let simulate = |duration: &str| {
        run(
            dir.path(),
            "wavecast-agent",
            &[
                "simulate",
                "--server",
                &server,
                "--root-key",
                root,
                "--token",
                &token,
                "--devices",
                "2",
                "--poll",
                "1",
                "--duration",
                duration,
            ],
            &[],
        )
    };
    let failed = simulate("3");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&failed.stdout),
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(!failed.status.success(), "the simulator fails: {said}");
    assert!(said.contains("no box could check in"), "{said}");
    assert!(
        said.contains("503") && said.contains("signing.key_file"),
        "{said}"
    );

    // The key appears where the server looks: no restart needed.
    std::fs::rename(
        keys.path().join("wavecast-keys"),
        dir.path().join("wavecast-keys"),
    )
    .expect("move the keys");
    let root = dir.path().join("wavecast-keys/root.pub");
    let ok = run(
        dir.path(),
        "wavecast-agent",
        &[
            "simulate",
            "--server",
            &server,
            "--root-key",
            root.to_str().expect("path"),
            "--token",
            &token,
            "--devices",
            "2",
            "--poll",
            "1",
            "--duration",
            "4",
        ],
        &[],
    );
    child.kill().expect("kill");
    let _ = child.wait();
    let said = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(!said.contains("check-ins 0 "), "{said}");
}
