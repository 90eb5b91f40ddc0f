//! Server configuration in layers: built-in defaults, then an optional TOML
//! file, then `WAVECAST__SECTION__KEY` environment variables. Unknown keys are
//! errors, so a typo never silently falls back to a default.

use std::{fmt, net::SocketAddr, path::PathBuf};

use figment::{
    providers::{Env, Format, Serialized, Toml},
    Figment,
};
use serde::{Deserialize, Serialize};

/// The complete server configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub blobs: BlobsConfig,
    pub log: LogConfig,
    pub auth: AuthConfig,
    pub bundles: BundlesConfig,
    pub signing: SigningConfig,
    pub devices: DevicesConfig,
    pub rollouts: RolloutsConfig,
    pub mqtt: MqttConfig,
    pub faults: FaultsConfig,
    pub telemetry: TelemetryConfig,
    pub tickets: TicketsConfig,
}

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
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            workers: 0,
            json_limit: 256 * 1024,
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

/// A database or broker URL. It may carry a password, so `Debug` and
/// messages show it redacted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretUrl(pub String);

impl SecretUrl {
    /// The URL itself, for connecting. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced, safe for logs and messages.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            Ok(u) => u.to_string(),
            Err(_) => "<unparseable url>".to_owned(),
        }
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.redacted())
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

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SigningConfig {
    /// Private key file of the server's online signing key (written by
    /// `wavecast keys init`). Empty: the server signs nothing and accepts only
    /// bundles signed offline.
    pub key_file: Option<PathBuf>,
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
        }
    }
}

/// The database backends Wavecast runs on, told by the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the backend from a database URL's scheme.
    pub fn from_url(url: &str) -> Result<Self, String> {
        let scheme = url.split_once("://").map(|(s, _)| s).ok_or_else(|| {
            format!("{url:?} is not a URL; expected sqlite://PATH or postgres://HOST/DB")
        })?;
        match scheme {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            other => Err(format!(
                "unsupported scheme {other:?}; expected sqlite:// or postgres://"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Where a broker is and the account the server uses there.
#[derive(Clone, PartialEq, Eq)]
pub struct BrokerAddr {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl fmt::Debug for BrokerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerAddr")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Parses `mqtt://[user[:password]@]host[:port]` (port 1883 by default).
pub fn parse_broker_url(s: &str) -> Result<BrokerAddr, String> {
    let u = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    if u.scheme() != "mqtt" {
        return Err(format!(
            "scheme {:?} is not supported; use mqtt://host:port",
            u.scheme()
        ));
    }
    let host = u
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("the URL names no host")?
        .to_owned();
    let decode = |v: &str| {
        url::form_urlencoded::parse(format!("x={v}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(BrokerAddr {
        host,
        port: u.port().unwrap_or(1883),
        username: Some(u.username()).filter(|n| !n.is_empty()).map(decode),
        password: u.password().map(decode),
    })
}

/// Why the configuration could not be loaded. Each variant renders as one
/// line naming the problem.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The commented default configuration file printed by `wavecast config default`.
///
/// A unit test checks that it parses to exactly [`Config::default`], so the
/// two never drift apart.
pub const DEFAULT_TOML: &str = include_str!("default-config.toml");

impl Config {
    /// Loads defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, Env::prefixed("WAVECAST__").split("__"))
    }

    /// Like [`Config::load`] with an explicit environment provider (for tests).
    pub fn load_from(file: Option<&std::path::Path>, env: Env) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            // Check readability ourselves: figment silently ignores a missing
            // file, and a named file that cannot be read must stop the start.
            std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
                path: path.to_owned(),
                source,
            })?;
            figment = figment.merge(Toml::file_exact(path));
        }
        let config: Config = figment
            .merge(env)
            .extract()
            .map_err(|e| ConfigError::Invalid(one_line(&e)))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        Backend::from_url(self.database.url.expose())
            .map_err(|e| ConfigError::Invalid(format!("database.url: {e}")))?;
        if self.mqtt.mode == MqttMode::External {
            let url = self.mqtt.url.as_ref().ok_or_else(|| {
                ConfigError::Invalid("mqtt.mode = \"external\" needs mqtt.url".to_owned())
            })?;
            parse_broker_url(url.expose())
                .map_err(|e| ConfigError::Invalid(format!("mqtt.url: {e}")))?;
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "database.max_connections must be at least 1".to_owned(),
            ));
        }
        let t = &self.telemetry;
        if t.raw_retention_days == 0 || t.fault_retention_days == 0 || t.rollup_retention_days == 0
        {
            return Err(ConfigError::Invalid(
                "telemetry retention days must be at least 1".to_owned(),
            ));
        }
        if t.rollup_every_secs == 0 || t.presence_flush_secs == 0 || t.online_secs == 0 {
            return Err(ConfigError::Invalid(
                "telemetry.rollup_every_secs, presence_flush_secs and online_secs must be at least 1"
                    .to_owned(),
            ));
        }
        if t.ingest_queue == 0 || !(1..=20_000).contains(&t.ingest_batch_events) {
            return Err(ConfigError::Invalid(
                "telemetry.ingest_queue must be at least 1 and ingest_batch_events 1 to 20000"
                    .to_owned(),
            ));
        }
        if !t.device_rate_per_sec.is_finite() || t.device_rate_per_sec <= 0.0 || t.device_burst == 0
        {
            return Err(ConfigError::Invalid(
                "telemetry.device_rate_per_sec and device_burst must be above 0".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Figment errors may hold several messages; join them into one line.
fn one_line(e: &figment::Error) -> String {
    e.clone()
        .into_iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env() -> Env {
        Env::prefixed("WAVECAST_TEST_NOTHING_SET__").split("__")
    }

    fn load_str(toml: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, toml).expect("write");
        Config::load_from(Some(&path), no_env())
    }

    #[test]
    fn default_file_matches_defaults() {
        let parsed: Config = toml::from_str(DEFAULT_TOML).expect("default TOML parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn file_overrides_defaults() {
        let c = load_str("[http]\nbind = \"127.0.0.1:9999\"\n").expect("loads");
        assert_eq!(c.http.bind.port(), 9999);
        assert_eq!(c.log, LogConfig::default());
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = load_str("[http]\nbnid = \"127.0.0.1:1\"\n").expect_err("refused");
        let msg = err.to_string();
        assert!(msg.contains("bnid"), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
    }

    #[test]
    fn unknown_section_is_an_error() {
        let err = load_str("[htpp]\nbind = \"x\"\n").expect_err("refused");
        assert!(err.to_string().contains("htpp"), "{err}");
    }

    #[test]
    fn bad_database_scheme_is_an_error() {
        let err = load_str("[database]\nurl = \"mysql://x\"\n").expect_err("refused");
        assert!(err.to_string().contains("database.url"), "{err}");
    }

    #[test]
    fn unreadable_file_names_the_path() {
        let err = Config::load_from(Some(std::path::Path::new("/no/such/file.toml")), no_env())
            .expect_err("refused");
        assert!(err.to_string().contains("/no/such/file.toml"), "{err}");
        assert!(
            std::error::Error::source(&err).is_some(),
            "the io error is the cause"
        );
    }

    #[test]
    fn redacts_passwords() {
        let url = SecretUrl("postgres://u:hunter2@h/db".to_owned());
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!(url.redacted().contains("***"));
    }

    #[test]
    fn backend_from_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db"), Ok(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgres://h/d"), Ok(Backend::Postgres));
        assert_eq!(Backend::from_url("postgresql://h/d"), Ok(Backend::Postgres));
        assert!(Backend::from_url("mysql://h/d").is_err());
        assert!(Backend::from_url("just-a-path").is_err());
    }

    #[test]
    fn broker_urls() {
        let a = parse_broker_url("mqtt://srv:p%40ss@broker.example:8883").expect("parse");
        assert_eq!(a.host, "broker.example");
        assert_eq!(a.port, 8883);
        assert_eq!(a.username.as_deref(), Some("srv"));
        assert_eq!(a.password.as_deref(), Some("p@ss"));
        let b = parse_broker_url("mqtt://10.0.0.1").expect("parse");
        assert_eq!((b.port, b.username, b.password), (1883, None, None));
        assert!(parse_broker_url("http://x").is_err());
        assert!(parse_broker_url("mqtt://").is_err());
        assert!(
            !format!("{a:?}").contains("p@ss"),
            "Debug hides the password"
        );
    }
}
