//! A throwaway Mosquitto broker with the dynamic-security plugin, on a free
//! port in a temp dir, for testing the server against an external broker.
//!
//! Mosquitto is not optional: when it is missing the test fails and says
//! what to install (CI installs it).

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The account that administers the dynamic-security plugin; the server
/// connects with it.
pub const ADMIN: &str = "wavecast-admin";

/// A running Mosquitto; killed when dropped.
#[derive(Debug)]
pub struct Mosquitto {
    pub port: u16,
    pub admin_password: String,
    child: Child,
    binary: PathBuf,
    conf: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(name: &str, dirs: &[&str]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain(dirs.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn plugin() -> Option<PathBuf> {
    let roots = ["/usr/lib", "/usr/local/lib", "/usr/lib64"];
    roots.iter().find_map(|r| {
        let direct = Path::new(r).join("mosquitto_dynamic_security.so");
        if direct.is_file() {
            return Some(direct);
        }
        std::fs::read_dir(r)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("mosquitto_dynamic_security.so"))
            .find(|p| p.is_file())
    })
}

impl Mosquitto {
    /// Starts Mosquitto, panicking with what is missing when it cannot.
    pub fn start() -> Mosquitto {
        Self::start_with(false)
    }

    /// Starts Mosquitto keeping sessions and queued messages on disk
    /// across a [`Mosquitto::restart`] when `persistent`.
    pub fn start_with(persistent: bool) -> Mosquitto {
        let missing =
            "Mosquitto is required for the MQTT tests: apt-get install mosquitto mosquitto-clients";
        let mosquitto = find("mosquitto", &["/usr/sbin", "/usr/local/sbin"])
            .unwrap_or_else(|| panic!("{missing} (no mosquitto binary)"));
        let ctrl = find("mosquitto_ctrl", &["/usr/bin"])
            .unwrap_or_else(|| panic!("{missing} (no mosquitto_ctrl)"));
        let plugin =
            plugin().unwrap_or_else(|| panic!("{missing} (no mosquitto_dynamic_security.so)"));
        let dir = tempfile::tempdir().expect("temp dir");
        let dynsec = dir.path().join("dynamic-security.json");
        let admin_password = format!("admin-{}", std::process::id());
        let ok = Command::new(ctrl)
            .args(["dynsec", "init"])
            .arg(&dynsec)
            .args([ADMIN, &admin_password])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "mosquitto_ctrl dynsec init failed");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let conf = dir.path().join("mosquitto.conf");
        // Persistent: sessions and their queues saved on a clean stop, and
        // room for what queues up for a server that is away; many QoS 1
        // messages in flight to the server at once.
        let persistence = if persistent {
            format!(
                "persistence true\npersistence_location {}/\nmax_queued_messages 1000000\n\
                 max_inflight_messages 1000\n",
                dir.path().display()
            )
        } else {
            "persistence false\n".to_owned()
        };
        std::fs::write(
            &conf,
            format!(
                "per_listener_settings false\nlistener {port} 127.0.0.1\nallow_anonymous false\n\
                 plugin {}\nplugin_opt_config_file {}\n{persistence}log_dest stderr\n\
                 log_type error\nlog_type warning\nuser {}\n",
                plugin.display(),
                dynsec.display(),
                whoami(),
            ),
        )
        .expect("write mosquitto.conf");
        let child = spawn(&mosquitto, &conf, port);
        Mosquitto {
            port,
            admin_password,
            child,
            binary: mosquitto,
            conf,
            _dir: dir,
        }
    }

    /// Stops the broker cleanly (SIGTERM: a persistent one saves its
    /// sessions) and starts it again on the same port.
    pub fn restart(&mut self) {
        let stopped = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(stopped, "cannot signal mosquitto");
        let _ = self.child.wait();
        self.child = spawn(&self.binary, &self.conf, self.port);
    }

    /// The URL the server connects with.
    pub fn server_url(&self) -> String {
        format!(
            "mqtt://{ADMIN}:{}@127.0.0.1:{}",
            self.admin_password, self.port
        )
    }
}

/// Runs mosquitto with `conf` and waits until it listens on `port`.
fn spawn(binary: &Path, conf: &Path, port: u16) -> Child {
    let child = Command::new(binary)
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("mosquitto starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "mosquitto did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Mosquitto started as root drops to the `mosquitto` user unless told to
/// stay; the temp dir belongs to whoever runs the tests.
fn whoami() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".to_owned())
}
