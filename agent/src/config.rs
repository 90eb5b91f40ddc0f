//! The agent's configuration: one TOML file (`/etc/wavecast/agent.toml` by
//! default). Unknown keys are refused, so a typo stops the start with a
//! message instead of being silently ignored. `wavecast-agent config
//! example` prints a commented file.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use ed25519_dalek::VerifyingKey;
use serde::Deserialize;
use wavecast_protocol::{checkin::Component, keys::parse_public_key};

/// Where `run` looks for its configuration without `--config`.
pub const DEFAULT_PATH: &str = "/etc/wavecast/agent.toml";

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The server, e.g. `https://updates.example.net`.
    pub server: String,
    /// Trust only the CA certificates in this PEM file for the server's
    /// HTTPS, instead of the box's system CA store.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The operator's root public key (base64), pinned: every keyring must be
    /// signed by it.
    pub root_key: String,
    /// The box's Ed25519 identity key; created on first start if missing.
    pub identity_key: PathBuf,
    /// Journal, staging area and the offline queue live here.
    pub state_dir: PathBuf,
    /// IANA time zone of the box (for maintenance windows).
    #[serde(default)]
    pub timezone: Option<String>,
    pub device: DeviceConfig,
    #[serde(default)]
    pub poll: PollConfig,
    /// What the box shipped with (the journal records updates on top).
    #[serde(default)]
    pub installed: Vec<Component>,
    #[serde(default)]
    pub firmware: Option<FirmwareConfig>,
    #[serde(default)]
    pub directories: Option<DirectoriesConfig>,
    /// Restarts the box, e.g. `["/sbin/reboot"]`.
    #[serde(default = "default_reboot")]
    pub reboot_command: Vec<String>,
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    #[serde(default)]
    pub collectors: Vec<CollectorConfig>,
    #[serde(default)]
    pub faults: FaultsConfig,
    #[serde(default)]
    pub mqtt: MqttConfig,
}

/// Who the box is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// The serial, or read from `serial_file` (e.g. `/proc/device-tree/serial-number`).
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub serial_file: Option<PathBuf>,
    pub model: String,
    pub hardware_revision: String,
}

/// Bounds on the server's check-in interval.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollConfig {
    /// Never check in more often than this, whatever the server says.
    pub min_secs: u64,
    /// Never wait longer than this.
    pub max_secs: u64,
    /// Wait before retrying when the server cannot be reached (doubles up to `max_secs`).
    pub retry_secs: u64,
}

impl Default for PollConfig {
    fn default() -> Self {
        Self {
            min_secs: 30,
            max_secs: 6 * 3600,
            retry_secs: 30,
        }
    }
}

/// One A/B firmware target: the two places its image may go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotTarget {
    /// The artifact target it receives, e.g. `rootfs` or `kernel`.
    pub name: String,
    /// Block device or file of slot A, e.g. `/dev/mmcblk0p2`.
    pub a: PathBuf,
    pub b: PathBuf,
}

/// A/B firmware through the bootloader.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmwareConfig {
    pub targets: Vec<SlotTarget>,
    /// Prints the slot that booted (`a` or `b`).
    pub current_slot_command: Vec<String>,
    /// Makes the next boot use slot `{slot}`.
    pub switch_command: Vec<String>,
    /// Marks the booted slot good (e.g. clears `upgrade_available`); optional.
    #[serde(default)]
    pub confirm_command: Option<Vec<String>>,
    /// Exits 0 when the new firmware works; optional.
    #[serde(default)]
    pub health_command: Option<Vec<String>>,
    /// A new slot must also reach the server before it is confirmed.
    #[serde(default = "yes")]
    pub health_needs_server: bool,
    /// Boots the new slot gets to come up healthy before the old one returns.
    #[serde(default = "three")]
    pub max_boots: u32,
    /// Changes at every boot; tells a reboot from an agent restart.
    #[serde(default = "default_boot_id")]
    pub boot_id_file: PathBuf,
}

/// Codec, DRM and app bundles unpacked into directories.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoriesConfig {
    /// `root/<target>` is a symbolic link to the installed version.
    pub root: PathBuf,
    /// Run after a switch with the component's name; a failure switches back.
    #[serde(default)]
    pub health_command: Option<Vec<String>>,
}

/// Health telemetry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryConfig {
    /// Seconds between health reports; 0 turns them off.
    pub interval_secs: u64,
    pub proc_dir: PathBuf,
    pub sys_dir: PathBuf,
    /// File systems to report the use of.
    pub mounts: Vec<PathBuf>,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            interval_secs: 300,
            proc_dir: "/proc".into(),
            sys_dir: "/sys".into(),
            mounts: vec!["/".into()],
        }
    }
}

/// A command whose output adds named metrics to each health report: lines
/// of `name value` or `name=value`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorConfig {
    pub name: String,
    pub command: Vec<String>,
    /// Longest the command may run.
    #[serde(default = "five")]
    pub timeout_secs: u64,
}

/// Where faults are found, and the offline queue's bound.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsConfig {
    /// New files here are reported as crash dumps.
    #[serde(default)]
    pub crash_dir: Option<PathBuf>,
    /// Kernel panic records (pstore), reported and then removed.
    pub pstore_dir: PathBuf,
    /// Non-zero `bootstatus` here means the watchdog reset the box.
    pub watchdog_dir: PathBuf,
    /// Most events waiting while offline; beyond it the oldest health
    /// reports go first, then the oldest faults, and drops are counted.
    pub queue_max_events: usize,
}

impl Default for FaultsConfig {
    fn default() -> Self {
        Self {
            crash_dir: None,
            pstore_dir: "/sys/fs/pstore".into(),
            watchdog_dir: "/sys/class/watchdog/watchdog0".into(),
            queue_max_events: 10_000,
        }
    }
}

/// Nudges over MQTT.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    /// Listen for nudges at the broker the server names.
    pub enabled: bool,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

fn yes() -> bool {
    true
}
fn three() -> u32 {
    3
}
fn five() -> u64 {
    5
}
fn default_reboot() -> Vec<String> {
    vec!["/sbin/reboot".into()]
}
fn default_boot_id() -> PathBuf {
    "/proc/sys/kernel/random/boot_id".into()
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let err = |message: String| ConfigError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        Self::parse(&text).map_err(err)
    }

    /// Parses and checks a configuration file's text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Config = basic_toml::from_str(text).map_err(|e| e.to_string())?;
        config.check()?;
        Ok(config)
    }

    /// Rules serde cannot express.
    pub fn check(&self) -> Result<(), String> {
        if !(self.server.starts_with("https://") || self.server.starts_with("http://")) {
            return Err(format!(
                "server {:?} must start with https:// (or http:// on a lab network)",
                self.server
            ));
        }
        if self.ca_file.is_some() && !self.server.starts_with("https://") {
            return Err(format!(
                "ca_file is set but server {:?} is not https://: nothing would use it",
                self.server
            ));
        }
        self.root_key()?;
        if self.device.serial.is_none() && self.device.serial_file.is_none() {
            return Err("device: give serial or serial_file".into());
        }
        if self.poll.min_secs == 0 || self.poll.min_secs > self.poll.max_secs {
            return Err("poll: need 0 < min_secs <= max_secs".into());
        }
        if self.reboot_command.is_empty() {
            return Err("reboot_command is empty".into());
        }
        if let Some(fw) = &self.firmware {
            if fw.targets.is_empty() {
                return Err("firmware: at least one target".into());
            }
            if fw.current_slot_command.is_empty() || fw.switch_command.is_empty() {
                return Err("firmware: current_slot_command and switch_command are needed".into());
            }
            if fw.max_boots == 0 {
                return Err("firmware: max_boots must be at least 1".into());
            }
        }
        let mut names = BTreeMap::new();
        for c in &self.collectors {
            if c.command.is_empty() {
                return Err(format!("collector {}: empty command", c.name));
            }
            if names.insert(c.name.clone(), ()).is_some() {
                return Err(format!("collector {} is listed twice", c.name));
            }
        }
        if self.faults.queue_max_events == 0 {
            return Err("faults: queue_max_events must be at least 1".into());
        }
        Ok(())
    }

    /// The pinned root key.
    pub fn root_key(&self) -> Result<VerifyingKey, String> {
        parse_public_key(self.root_key.trim()).map_err(|e| format!("root_key: {e}"))
    }

    /// The box's serial, from the file or the config.
    pub fn serial(&self) -> Result<String, String> {
        if let Some(s) = &self.device.serial {
            return Ok(s.clone());
        }
        let path = self.device.serial_file.as_ref().ok_or("no serial")?;
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        // Device-tree strings end in NUL.
        let s = String::from_utf8_lossy(&text)
            .trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .to_owned();
        if s.is_empty() {
            return Err(format!("{} holds no serial", path.display()));
        }
        Ok(s)
    }
}

/// A commented example, printed by `wavecast-agent config example`.
pub const EXAMPLE: &str = r#"# Wavecast agent configuration.
server = "https://updates.example.net"
# Trust only this CA (PEM) for the server's certificate; without it, the
# box's system CA store.
# ca_file = "/etc/wavecast/ca.pem"
# The operator's root public key (base64): `wavecast keys show root`.
root_key = "REPLACE-WITH-THE-ROOT-PUBLIC-KEY"
# Created on first start when missing (mode 0600).
identity_key = "/var/lib/wavecast/identity.key"
# Journal, staging area for downloads, offline queue.
state_dir = "/var/lib/wavecast"
timezone = "Europe/Paris"
# Restarts the box.
reboot_command = ["/sbin/reboot"]

[device]
serial_file = "/proc/device-tree/serial-number"
model = "X1"
hardware_revision = "B"

[poll]
min_secs = 30
max_secs = 21600
retry_secs = 30

# What the box shipped with.
[[installed]]
name = "x1-firmware"
version = "4.1.0"
security_version = 1

[firmware]
current_slot_command = ["fw_printenv", "-n", "wavecast_slot"]
switch_command = ["fw_setenv", "wavecast_slot", "{slot}"]
confirm_command = ["fw_setenv", "upgrade_available", "0"]
health_command = ["/usr/lib/stb/healthy"]
health_needs_server = true
max_boots = 3
boot_id_file = "/proc/sys/kernel/random/boot_id"

[[firmware.targets]]
name = "rootfs"
a = "/dev/mmcblk0p2"
b = "/dev/mmcblk0p3"

[directories]
root = "/opt/stb"

[telemetry]
interval_secs = 300
proc_dir = "/proc"
sys_dir = "/sys"
mounts = ["/", "/data"]

[[collectors]]
name = "player"
command = ["/usr/lib/stb/counters"]

[faults]
crash_dir = "/data/crash"
pstore_dir = "/sys/fs/pstore"
watchdog_dir = "/sys/class/watchdog/watchdog0"
queue_max_events = 10000

[mqtt]
enabled = true
"#;

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

    fn example() -> String {
        EXAMPLE.replace("REPLACE-WITH-THE-ROOT-PUBLIC-KEY", ROOT)
    }

    #[test]
    fn the_example_parses_and_checks() {
        let c: Config = basic_toml::from_str(&example()).expect("parses");
        c.check().expect("checks");
        assert_eq!(c.firmware.as_ref().map(|f| f.max_boots), Some(3));
        assert_eq!(c.collectors.len(), 1);
        assert_eq!(c.installed[0].version.to_string(), "4.1.0");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        let typo = example().replace("max_boots", "max_bots");
        let e = basic_toml::from_str::<Config>(&typo).expect_err("unknown key");
        assert!(e.to_string().contains("max_bots"), "{e}");
        let c: Config =
            basic_toml::from_str(&example().replace("https://updates", "ftp://updates"))
                .expect("parses");
        assert!(c.check().expect_err("scheme").contains("https://"));
        let c: Config =
            basic_toml::from_str(&example().replace(ROOT, "not-a-key")).expect("parses");
        assert!(c.check().expect_err("key").contains("root_key"));
        // A pinned CA on a plain-HTTP server would pin nothing.
        let plain = example()
            .replace("https://updates", "http://updates")
            .replace("# ca_file", "ca_file");
        let c: Config = basic_toml::from_str(&plain).expect("parses");
        assert!(
            c.check().expect_err("ca_file").contains("ca_file"),
            "{plain}"
        );
        let pinned = example().replace("# ca_file", "ca_file");
        let c: Config = basic_toml::from_str(&pinned).expect("parses");
        c.check().expect("https with a CA file");
    }
}
