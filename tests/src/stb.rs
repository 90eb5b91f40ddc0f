//! A set-top box for end-to-end tests: the real `wavecast-agent` binary
//! (the host build, or another build such as the aarch64 one under qemu,
//! named by `WAVECAST_AGENT_BIN` and `WAVECAST_AGENT_RUNNER`) in a
//! directory that stands in for the box: two slot files, a bootloader
//! environment file the switch command writes, a boot id the harness
//! changes at every simulated boot, and a reboot command that ends the
//! agent as a real reboot would.

use std::{
    path::PathBuf,
    process::{ExitStatus, Stdio},
    time::{Duration, Instant},
};

/// How one run of the agent ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// It ran the reboot command.
    Rebooted,
    /// It stopped dead (the abort crash point).
    Died,
    /// It exited by itself.
    Exited(ExitStatus),
}

/// One simulated box.
#[derive(Debug)]
pub struct Stb {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    boots: u32,
}

fn agent_command() -> std::process::Command {
    let bin = std::env::var_os("WAVECAST_AGENT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::bin::path("wavecast-agent"));
    match std::env::var("WAVECAST_AGENT_RUNNER") {
        Ok(runner) if !runner.trim().is_empty() => {
            let mut words = runner.split_whitespace();
            let mut c = std::process::Command::new(words.next().expect("runner"));
            c.args(words).arg(bin);
            c
        }
        _ => std::process::Command::new(bin),
    }
}

/// Runs the agent binary with `args` and returns its output.
pub fn agent_output(args: &[&str]) -> std::process::Output {
    agent_command()
        .args(args)
        .output()
        .expect("run wavecast-agent")
}

impl Stb {
    /// A box with serial `serial`, firmware 4.1.0 in slot a, talking to
    /// `server` and trusting `root` (base64). `extra` is appended to the
    /// configuration.
    pub fn new(server: &str, root: &str, serial: &str, extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("box dir");
        let d = dir.path();
        std::fs::write(d.join("bootslot"), "a\n").expect("bootslot");
        std::fs::write(d.join("boot_id"), "boot-0\n").expect("boot id");
        std::fs::write(d.join("slot-a"), b"factory 4.1.0 image").expect("slot a");
        std::fs::write(d.join("healthy"), b"").expect("healthy");
        let p = d.display();
        let config = format!(
            r#"server = "{server}"
root_key = "{root}"
identity_key = "{p}/identity.key"
state_dir = "{p}/state"
reboot_command = ["sh", "-c", "touch {p}/rebooted; kill -TERM $PPID"]

[device]
serial = "{serial}"
model = "X1"
hardware_revision = "A"

[poll]
min_secs = 1
max_secs = 5
retry_secs = 1

[[installed]]
name = "x1-firmware"
version = "4.1.0"
security_version = 1

[firmware]
current_slot_command = ["cat", "{p}/bootslot"]
switch_command = ["sh", "-c", "echo {{slot}} > {p}/bootslot"]
health_command = ["test", "-f", "{p}/healthy"]
max_boots = 2
boot_id_file = "{p}/boot_id"

[[firmware.targets]]
name = "rootfs"
a = "{p}/slot-a"
b = "{p}/slot-b"

[directories]
root = "{p}/stb"

[telemetry]
interval_secs = 0
proc_dir = "/proc"
sys_dir = "/sys"
mounts = ["{p}"]

[faults]
pstore_dir = "{p}/pstore"
watchdog_dir = "{p}/watchdog"
queue_max_events = 1000

[mqtt]
enabled = false
{extra}"#
        );
        let path = d.join("agent.toml");
        std::fs::write(&path, config).expect("config");
        Self {
            config: path,
            dir,
            boots: 0,
        }
    }

    /// Replaces `from` (which must appear) with `to` in the configuration.
    pub fn edit(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.config).expect("config");
        assert!(text.contains(from), "{from} is not in the configuration");
        std::fs::write(&self.config, text.replacen(from, to, 1)).expect("config");
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// `wavecast-agent --config … ARGS`.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        let mut all = vec!["--config", self.config.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        agent_output(&all)
    }

    /// [`Stb::cli`] with environment variables set.
    pub fn cli_env(&self, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
        let mut c = agent_command();
        c.args(["--config", self.config.to_str().expect("utf-8 path")])
            .args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("run wavecast-agent")
    }

    /// A new boot: the boot id changes (the bootloader's slot stays).
    pub fn boot(&mut self) {
        self.boots += 1;
        std::fs::write(self.path("boot_id"), format!("boot-{}\n", self.boots)).expect("boot id");
        let _ = std::fs::remove_file(self.path("rebooted"));
    }

    /// Starts the service; `abort_at` sets the crash point. Its log goes
    /// to `agent.log` in the box's directory.
    pub fn spawn(&self, abort_at: Option<&str>) -> std::process::Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("agent.log"))
            .expect("log");
        let mut cmd = agent_command();
        cmd.args(["--config", self.config.to_str().expect("utf-8"), "run"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(at) = abort_at {
            cmd.env("WAVECAST_AGENT_ABORT_AT", at);
        }
        cmd.spawn().expect("start the agent")
    }

    /// How a finished run ended.
    pub fn ended(&self, status: ExitStatus) -> Ended {
        use std::os::unix::process::ExitStatusExt;
        if status.signal() == Some(6) || status.code() == Some(134) {
            Ended::Died
        } else if self.path("rebooted").exists() {
            Ended::Rebooted
        } else {
            Ended::Exited(status)
        }
    }

    /// Stops a running agent as systemd would (SIGTERM) and waits for it.
    pub fn stop(child: &mut std::process::Child) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
