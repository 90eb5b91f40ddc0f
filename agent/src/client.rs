//! The device protocol over HTTPS: enrolment with the identity key, signed
//! check-ins, status reports and ranged artifact downloads. Blocking and
//! small on purpose (ureq; TLS as [`crate::tls`] sets it up): a box runs one of these.

use std::{io::Read, time::Duration};

use ed25519_dalek::SigningKey;
use rand::Rng;
use wavecast_protocol::{
    checkin::{CheckinAnswer, CheckinRequest, Component},
    device::{EnrolAnswer, EnrolClaim},
    events::{EventBatch, EventsAccepted},
    keys::public_key_text,
    status::StatusReport,
    Problem,
};

use crate::tls::ServerTrust;

/// Why a call to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a problem.
    #[error("the server refused: {0}")]
    Refused(Box<Problem>),
    /// The server could not be reached or the connection broke.
    #[error("cannot reach the server: {0}")]
    Transport(String),
    /// The answer was not what the protocol says.
    #[error("unexpected answer: {0}")]
    Protocol(String),
}

impl ClientError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Refused(p) => Some(p.status),
            _ => None,
        }
    }
}

/// Who the box says it is when it enrols.
#[derive(Debug, Clone)]
pub struct Identity {
    pub serial: String,
    pub model: String,
    pub hardware_revision: String,
    pub key: SigningKey,
}

/// A connection to one Wavecast server.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: ureq::Agent,
    credential: Option<String>,
}

fn convert(e: ureq::Error) -> ClientError {
    match e {
        ureq::Error::Status(code, res) => {
            let body = res.into_string().unwrap_or_default();
            ClientError::Refused(Box::new(serde_json::from_str(&body).unwrap_or_else(|_| {
                Problem::new("http", format!("HTTP {code}"), code).with_detail(body)
            })))
        }
        ureq::Error::Transport(t) => ClientError::Transport(t.to_string()),
    }
}

#[cfg(not(any(feature = "rustls", feature = "system-tls")))]
compile_error!("the agent needs a TLS feature: `rustls` or `system-tls`");

impl Client {
    /// A client for the server at `base` (e.g. `https://updates.example.net`)
    /// that trusts the system CA store.
    pub fn new(base: &str) -> Self {
        Self::with_trust(base, &ServerTrust::system())
    }

    /// A client for the server at `base` whose certificate must chain to `trust`.
    pub fn with_trust(base: &str, trust: &ServerTrust) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            // No idle connections are kept: a box talks to the server every
            // few minutes at most, long after the server has closed an idle
            // keep-alive connection, and a POST sent on such a stale
            // connection fails instead of being retried.
            http: trust
                .apply(
                    ureq::AgentBuilder::new()
                        // A server reached over HTTPS is never left for
                        // plain HTTP by a redirect.
                        .https_only(base.starts_with("https://"))
                        .max_idle_connections(0)
                        .timeout_connect(Duration::from_secs(10))
                        .timeout_read(Duration::from_secs(60))
                        .user_agent(concat!("wavecast-agent/", env!("CARGO_PKG_VERSION"))),
                )
                .build(),
            credential: None,
        }
    }

    /// Uses a credential from an earlier enrolment.
    pub fn with_credential(mut self, credential: &str) -> Self {
        self.credential = Some(credential.to_owned());
        self
    }

    pub fn credential(&self) -> Option<&str> {
        self.credential.as_deref()
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn authed(&self, req: ureq::Request) -> ureq::Request {
        match &self.credential {
            Some(c) => req.set("Authorization", &format!("Bearer {c}")),
            None => req,
        }
    }

    /// Enrols (or re-enrols) with the identity key. When accepted, the
    /// credential is kept for later calls.
    pub fn enrol(&mut self, id: &Identity, now: i64) -> Result<EnrolAnswer, ClientError> {
        let claim = EnrolClaim {
            serial: id.serial.clone(),
            model: id.model.clone(),
            hardware_revision: id.hardware_revision.clone(),
            public_key: public_key_text(&id.key.verifying_key()),
            timestamp: now,
            agent_version: Some(crate::AGENT_VERSION.into()),
        };
        let env = claim
            .sign(&id.key)
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        let answer: EnrolAnswer = self
            .http
            .post(&self.url("/api/v1/device/enrol"))
            .send_json(&env)
            .map_err(convert)?
            .into_json()
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        if let Some(c) = &answer.credential {
            self.credential = Some(c.clone());
        }
        Ok(answer)
    }

    /// A fresh random nonce for a check-in.
    pub fn nonce() -> String {
        let bytes: [u8; 16] = rand::thread_rng().gen();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Checks in; the caller verifies the answer with [`crate::trust::Trust`].
    /// `held_keyring` is [`crate::trust::Trust::held_keyring`]. The agent
    /// verifies batch-signed answers, so it always asks for them.
    pub fn check_in(
        &self,
        nonce: &str,
        installed: &[Component],
        timezone: Option<&str>,
        held_keyring: Option<u64>,
        licence_tokens: u32,
    ) -> Result<CheckinAnswer, ClientError> {
        let req = CheckinRequest {
            nonce: nonce.to_owned(),
            installed: installed.to_vec(),
            boot_slot: None,
            agent_version: Some(crate::AGENT_VERSION.into()),
            timezone: timezone.map(str::to_owned),
            keyring_version: held_keyring,
            batch_proofs: true,
            licence_tokens: (licence_tokens > 0).then_some(licence_tokens),
        };
        self.authed(self.http.post(&self.url("/api/v1/device/check-in")))
            .send_json(&req)
            .map_err(convert)?
            .into_json()
            .map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Reports an install status.
    pub fn report(&self, report: &StatusReport) -> Result<(), ClientError> {
        self.authed(self.http.post(&self.url("/api/v1/device/status")))
            .send_json(report)
            .map_err(convert)?;
        Ok(())
    }

    /// Delivers a batch of health reports and faults.
    pub fn send_events(&self, batch: &EventBatch) -> Result<EventsAccepted, ClientError> {
        self.authed(self.http.post(&self.url("/api/v1/device/events")))
            .send_json(batch)
            .map_err(convert)?
            .into_json()
            .map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// Opens a download of `url` from byte `from` (a resume when > 0),
    /// checking the server honoured the range.
    pub fn download(
        &self,
        url: &str,
        from: u64,
    ) -> Result<Box<dyn Read + Send + Sync>, ClientError> {
        let mut req = self.authed(self.http.get(&self.url(url)));
        if from > 0 {
            req = req.set("Range", &format!("bytes={from}-"));
        }
        let res = req.call().map_err(convert)?;
        if from > 0 && res.status() != 206 {
            return Err(ClientError::Protocol(format!(
                "asked to resume at byte {from}, got HTTP {}",
                res.status()
            )));
        }
        Ok(res.into_reader())
    }
}
