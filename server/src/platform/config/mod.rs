//! Server configuration in layers: built-in defaults, then an optional TOML
//! file, then `WAVECAST__SECTION__KEY` environment variables. Unknown keys are
//! errors, so a typo never silently falls back to a default.

mod sections;
mod urls;

use std::path::PathBuf;

use figment::{
    providers::{Env, Format, Serialized, Toml},
    Figment,
};
use serde::{Deserialize, Serialize};

pub use sections::*;
pub use urls::{parse_broker_url, Backend, BrokerAddr, SecretUrl};

/// The complete server configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub http: HttpConfig,
    pub database: DatabaseConfig,
    pub blobs: BlobsConfig,
    pub log: LogConfig,
    pub auth: AuthConfig,
    pub console: ConsoleConfig,
    pub bundles: BundlesConfig,
    pub signing: SigningConfig,
    pub ddi: DdiConfig,
    pub devices: DevicesConfig,
    pub rollouts: RolloutsConfig,
    pub mqtt: MqttConfig,
    pub faults: FaultsConfig,
    pub telemetry: TelemetryConfig,
    pub tickets: TicketsConfig,
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
pub const DEFAULT_TOML: &str = include_str!("default.toml");

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

    /// The configuration as `wavecast config show` prints it: every
    /// password in a URL replaced.
    pub fn shown(&self) -> Config {
        let mut c = self.clone();
        c.database.url = SecretUrl(c.database.url.redacted());
        c.mqtt.url = c.mqtt.url.map(|u| SecretUrl(u.redacted()));
        c.mqtt.advertise_url = c.mqtt.advertise_url.map(|u| SecretUrl(u).redacted());
        c
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
        let tenant = &self.ddi.tenant;
        if tenant.is_empty()
            || tenant.len() > 64
            || !tenant
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ConfigError::Invalid(
                "ddi.tenant must be 1 to 64 letters, digits, '_' or '-'".to_owned(),
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
    fn config_show_masks_every_password() {
        let c = load_str(
            "[database]\nurl = \"postgres://u:dbsecret@h/db\"\n\
             [mqtt]\nmode = \"external\"\nurl = \"mqtt://wavecast:mqsecret@broker:1883\"\n\
             advertise_url = \"mqtt://box:adsecret@broker:1883\"\n",
        )
        .expect("loads");
        let shown = toml::to_string_pretty(&c.shown()).expect("serializes");
        for secret in ["dbsecret", "mqsecret", "adsecret"] {
            assert!(!shown.contains(secret), "{secret} shown in:\n{shown}");
        }
        assert!(shown.contains("mqtt://wavecast:***@broker:1883"), "{shown}");
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
