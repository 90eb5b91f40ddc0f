//! Addresses in the configuration: URLs that may carry a password
//! ([`SecretUrl`], redacted wherever shown), the database backend a URL
//! names, and MQTT broker URLs.

use std::fmt;

use serde::{Deserialize, Serialize};

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
