//! The configuration's sections, one struct each with its defaults (the
//! commented default file, `default.toml`, says the same in words).

use std::{net::SocketAddr, path::PathBuf};

use serde::{Deserialize, Serialize};

use super::urls::SecretUrl;

/// After-sales tickets: the SLA sweep, surveys, webhooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TicketsConfig {
    /// Seconds between SLA sweeps (warnings, escalations, surveys) on the
    /// instance holding the `tickets` lease.
    pub sweep_every_secs: u64,
    /// The time zone of the default plans' business hours (IANA name).
    pub business_timezone: String,
    /// A device-fault ticket's survey goes out once the box has reported
    /// no fault of it for this many seconds after the resolution.
    pub survey_quiet_secs: u64,
    /// The address subscribers reach this server at, for survey links.
    pub public_url: String,
    /// Attempts at a webhook delivery before it is given up (backoff
    /// doubles from 1 s up to an hour between attempts).
    pub webhook_max_attempts: u32,
    /// Seconds a webhook endpoint has to answer.
    pub webhook_timeout_secs: u64,
}

impl Default for TicketsConfig {
    fn default() -> Self {
        Self {
            sweep_every_secs: 30,
            business_timezone: "UTC".to_owned(),
            survey_quiet_secs: 72 * 3600,
            public_url: "http://127.0.0.1:8080".to_owned(),
            webhook_max_attempts: 12,
            webhook_timeout_secs: 10,
        }
    }
}

/// Health and fault events: ingest limits, retention, rollups, presence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Days raw health reports are kept; older ones live on as hourly rollups.
    pub raw_retention_days: u32,
    /// Days faults are kept (fleet problems and tickets refer to them).
    pub fault_retention_days: u32,
    /// Days hourly rollups are kept.
    pub rollup_retention_days: u32,
    /// Seconds between rollup and retention passes (on the scheduler's instance).
    pub rollup_every_secs: u64,
    /// A box heard from within this many seconds counts as online.
    pub online_secs: u64,
    /// Seconds between writes of who was heard from (one batched UPDATE per
    /// 500 boxes, never one per message).
    pub presence_flush_secs: u64,
    /// MQTT batches waiting to be written before the link stops reading
    /// (the broker holds the rest).
    pub ingest_queue: usize,
    /// Most events written in one transaction.
    pub ingest_batch_events: usize,
    /// MQTT event messages a box may send per second on average…
    pub device_rate_per_sec: f64,
    /// …and in a burst. Beyond that its messages are dropped and counted.
    pub device_burst: u32,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            raw_retention_days: 14,
            fault_retention_days: 400,
            rollup_retention_days: 400,
            rollup_every_secs: 300,
            online_secs: 3600,
            presence_flush_secs: 30,
            ingest_queue: 4096,
            ingest_batch_events: 2000,
            device_rate_per_sec: 1.0,
            device_burst: 120,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultsConfig {
    /// A fault catalog file (TOML, `[[fault]]` entries). Its codes missing
    /// from the database are added at start; codes already there keep what
    /// the API made of them. Unset: the built-in sample catalog.
    pub catalog_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address and port the HTTP server listens on. Port 0 picks a free port.
    pub bind: SocketAddr,
    /// Worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Largest JSON request body accepted, in bytes.
    pub json_limit: usize,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` header names
    /// the client (for throttles and the audit log). Nobody else's is read.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// HTTPS on `bind` instead of plain HTTP, when set.
    pub tls: Option<HttpTlsConfig>,
}

/// The server's own HTTPS: a PEM certificate chain and its key, read again
/// when either file changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// A plain-HTTP address that answers every request with a redirect to
    /// the same path over HTTPS (e.g. `0.0.0.0:80`); none by default.
    #[serde(default)]
    pub redirect_bind: Option<SocketAddr>,
    /// `Strict-Transport-Security` max-age sent with every HTTPS answer
    /// (seconds; 0 sends none).
    #[serde(default = "a_year")]
    pub hsts_max_age_secs: u64,
}

impl HttpTlsConfig {
    /// The files the HTTPS certificate is read from.
    pub fn files(&self) -> crate::platform::certs::CertFiles {
        crate::platform::certs::CertFiles {
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
        }
    }
}

fn a_year() -> u64 {
    365 * 86_400
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: 0,
            json_limit: 256 * 1024,
            trusted_proxies: Vec::new(),
            tls: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (created if missing, WAL mode) or `postgres://...`.
    pub url: SecretUrl,
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// Seconds to wait for a connection before giving up.
    pub connect_timeout_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: SecretUrl("sqlite://data/wavecast.db".to_owned()),
            max_connections: 16,
            connect_timeout_secs: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlobsConfig {
    /// Directory of the local blob store.
    pub dir: PathBuf,
}

impl Default for BlobsConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("data/blobs"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` (readable) or `json` (one object per line).
    pub format: LogFormat,
    /// A tracing filter such as `info` or `wavecast_server=debug,info`;
    /// `RUST_LOG` overrides it.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: "info".to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Hours the one-time bootstrap token printed on first start stays valid.
    pub bootstrap_token_ttl_hours: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            bootstrap_token_ttl_hours: 24,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Minutes without a request after which a console session ends.
    pub idle_minutes: u32,
    /// Hours after sign-in after which a console session ends regardless.
    pub absolute_hours: u32,
    /// The console is reached over HTTPS (through a TLS front): the session
    /// cookie is `Secure` with the `__Host-` prefix.
    pub https: bool,
    /// Milliseconds between a live page's refreshes (rollouts, overview).
    pub poll_millis: u64,
    /// Failed sign-ins for one user name within `sign_in_window_minutes`
    /// that stop further attempts for it until the window passes.
    pub failures_per_user: u32,
    /// The same for one address.
    pub failures_per_address: u32,
    pub sign_in_window_minutes: u32,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            idle_minutes: 60,
            absolute_hours: 12,
            https: false,
            poll_millis: 3000,
            failures_per_user: 5,
            failures_per_address: 20,
            sign_in_window_minutes: 15,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BundlesConfig {
    /// Largest bundle upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Seconds an upload may send nothing before it is abandoned.
    pub upload_idle_timeout_secs: u64,
}

impl Default for BundlesConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 4 << 30,
            upload_idle_timeout_secs: 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DdiConfig {
    /// Serve hawkBit's Direct Device Integration API (SWUpdate,
    /// rauc-hawkbit-updater) under `/{tenant}/controller/v1/`.
    pub enabled: bool,
    /// The one tenant name the DDI routes answer to.
    pub tenant: String,
    /// A file holding the tenant-wide `GatewayToken`. Unset (the default):
    /// boxes authenticate only with their own `TargetToken`.
    pub gateway_token_file: Option<PathBuf>,
}

impl Default for DdiConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            tenant: "DEFAULT".into(),
            gateway_token_file: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigningConfig {
    /// The server's online check-in key, which signs check-in answers
    /// (`wavecast keys init` writes `wavecast-keys/checkin.key`). When the
    /// file does not exist yet, the server starts, warns, and loads it as
    /// soon as it appears; until then check-ins answer 503.
    pub key_file: Option<PathBuf>,
    /// A bundle signing key kept on the server, so that bundles uploaded
    /// unsigned can be signed here (`?sign=server`). Unset (the default):
    /// only bundles signed offline are accepted, and whoever controls the
    /// server cannot sign what the fleet installs.
    pub bundle_key_file: Option<PathBuf>,
    /// Lets the online check-in key also hold bundle roles in the keyring.
    /// Off (the default): the server refuses to start with such a key, and
    /// refuses to publish a keyring that gives it one.
    pub allow_online_bundle_roles: bool,
}

impl Default for SigningConfig {
    fn default() -> Self {
        Self {
            key_file: Some(PathBuf::from("wavecast-keys/checkin.key")),
            bundle_key_file: None,
            allow_online_bundle_roles: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevicesConfig {
    /// Seconds a device credential stays valid; the box then re-enrols with its key.
    pub credential_ttl_secs: u32,
    /// Largest difference, in seconds, between a box's clock and the server's
    /// accepted in an enrolment claim.
    pub enrol_max_skew_secs: u32,
    /// Seconds a pending box is told to wait before enrolling again.
    pub pending_retry_secs: u32,
    /// Enrolments one client address may make a second on average, and at
    /// once (`enrol_burst`); 0 turns the limit off. Boxes behind one NAT
    /// share an address, so both are generous.
    pub enrol_rate_per_sec: f64,
    pub enrol_burst: u32,
    /// Most boxes waiting for an operator at once: past it, unknown serials
    /// are told to come back later instead of being recorded.
    pub max_pending: u64,
    /// Milliseconds between reads of device changes made by other instances
    /// (the in-memory device directory follows them).
    pub directory_sync_millis: u64,
}

impl Default for DevicesConfig {
    fn default() -> Self {
        Self {
            credential_ttl_secs: 7 * 86_400,
            enrol_max_skew_secs: 300,
            pending_retry_secs: 300,
            enrol_rate_per_sec: 5.0,
            enrol_burst: 300,
            max_pending: 100_000,
            directory_sync_millis: 1000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RolloutsConfig {
    /// Milliseconds between scheduler passes.
    pub tick_millis: u64,
    /// Seconds between a box's check-ins.
    pub checkin_interval_secs: u64,
    /// Random spread added to each interval, in percent (spreads load).
    pub checkin_jitter_pct: u64,
    /// Milliseconds a server answers check-ins from the rollouts and keyring
    /// it holds in memory before reading them again. Its own changes apply
    /// at once; other instances' changes within this time.
    pub cache_millis: u64,
}

impl Default for RolloutsConfig {
    fn default() -> Self {
        Self {
            tick_millis: 5000,
            checkin_interval_secs: 1800,
            checkin_jitter_pct: 10,
            cache_millis: 2000,
        }
    }
}

/// How the server reaches boxes over MQTT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MqttMode {
    /// Start a broker inside the server (the default).
    Embedded,
    /// Connect to an operator-run broker at `mqtt.url`.
    External,
    /// No MQTT: boxes poll over HTTPS only.
    Off,
}

/// How device accounts reach an external broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MqttProvision {
    /// The broker authenticates boxes by itself.
    None,
    /// The server creates, updates and deletes each box's client and role
    /// through Mosquitto's dynamic-security plugin.
    MosquittoDynsec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    pub mode: MqttMode,
    /// Embedded: where the broker listens. Port 0 picks a free port.
    pub listen: SocketAddr,
    /// Embedded: most simultaneous connections.
    pub max_connections: usize,
    /// External: `mqtt://user:password@host:port` the server connects with.
    pub url: Option<SecretUrl>,
    /// External: how device accounts are provisioned.
    pub provision: MqttProvision,
    /// The broker address boxes are told in check-in answers
    /// (`mqtt://host:port`); by default the embedded listen address or the
    /// external URL without its credentials.
    pub advertise_url: Option<String>,
    /// External: the client id of the server's persistent session (the
    /// broker keeps what boxes send while the server is away). By default
    /// `wavecast-server-{host name}-{HTTP port}`; every instance needs its own.
    pub session: Option<String>,
    /// External: subscribe to box topics with shared subscriptions, so each
    /// message reaches one server instance (spreads the load over several
    /// instances). Off, every instance receives every message and stores
    /// it idempotently. Mosquitto 2.0 does not restore shared
    /// subscriptions when it restarts: messages boxes publish between its
    /// restart and the server's reconnection then reach no one.
    pub shared_subscriptions: bool,
    /// Embedded: MQTT over TLS for boxes on its own address, advertised as
    /// `mqtts://` (the plain listener stays, for the server's own link on
    /// loopback).
    pub tls: Option<MqttTlsConfig>,
}

/// The embedded broker's TLS listener: where, and the PEM certificate
/// chain and key it presents (read again when either file changes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttTlsConfig {
    pub listen: SocketAddr,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl MqttTlsConfig {
    /// The files the MQTT certificate is read from.
    pub fn files(&self) -> crate::platform::certs::CertFiles {
        crate::platform::certs::CertFiles {
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
        }
    }
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            mode: MqttMode::Embedded,
            listen: SocketAddr::from(([127, 0, 0, 1], 1883)),
            max_connections: 50_000,
            url: None,
            provision: MqttProvision::None,
            advertise_url: None,
            session: None,
            shared_subscriptions: false,
            tls: None,
        }
    }
}
