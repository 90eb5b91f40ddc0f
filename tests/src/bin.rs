//! The real binaries, for tests that run them as a user would.
//!
//! Cargo builds a package's own binaries for its integration tests, but not
//! other packages' binaries, so the first call builds them with the same
//! profile the tests use (a no-op when they are up to date). It builds the
//! whole workspace's binaries: selecting only the server and the agent
//! would resolve dependency features differently from `cargo test
//! --workspace` and rebuild the server binary (about 17 s here).

use std::{path::PathBuf, process::Command, sync::OnceLock};

static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();

fn target_dir() -> PathBuf {
    // Test binaries live in target/<profile>/deps/.
    let exe = std::env::current_exe().expect("current exe");
    let deps = exe.parent().expect("deps dir");
    deps.parent().expect("profile dir").to_path_buf()
}

fn build_all() -> Result<PathBuf, String> {
    let dir = target_dir();
    let release = dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "--workspace", "--bins"]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build of the binaries failed: {status}"));
    }
    Ok(dir)
}

/// The path of a workspace binary (`wavecast`, `wavecast-agent`), built once.
pub fn path(name: &str) -> PathBuf {
    let dir = BUILT
        .get_or_init(build_all)
        .as_ref()
        .unwrap_or_else(|e| panic!("{e}"));
    let p = dir.join(name);
    assert!(
        p.is_file(),
        "binary {} is missing after the build",
        p.display()
    );
    p
}

/// `wavecast ARGS` against `app` as its admin.
pub async fn wavecast(app: &crate::TestApp, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(path("wavecast"))
        .env("WAVECAST_SERVER", &app.address)
        .env("WAVECAST_TOKEN", &app.admin_token)
        .args(args)
        .output()
        .await
        .expect("wavecast runs")
}

/// [`wavecast`], expecting success: what it printed.
pub async fn wavecast_ok(app: &crate::TestApp, args: &[&str]) -> String {
    let out = wavecast(app, args).await;
    assert!(
        out.status.success(),
        "wavecast {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// [`wavecast_ok`] with `--json`: what it printed, parsed.
pub async fn wavecast_json(app: &crate::TestApp, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&wavecast_ok(app, &all).await).expect("JSON")
}

/// The number after `label` in a line the simulator printed
/// (`count_after("… events 12 (12 over MQTT) …", "events ")` is 12).
pub fn count_after(line: &str, label: &str) -> u64 {
    let at = line
        .find(label)
        .unwrap_or_else(|| panic!("{label:?} in {line}"));
    line[at + label.len()..]
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a number after {label:?} in {line}"))
}
