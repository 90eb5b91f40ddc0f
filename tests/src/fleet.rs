//! Simulated boxes for rollout tests, driven by the agent library's own
//! protocol client (`wavecast_agent::client`) and trust checks
//! (`wavecast_agent::trust`), so protocol drift between server and agent
//! fails a test. Each box has its own identity key, credential and installed
//! components.

use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use wavecast_agent::{
    client::{Client, ClientError, Identity},
    trust::Trust,
};
use wavecast_protocol::{
    checkin::{CheckinAnswer, CheckinPayload, Component, Offer},
    status::{InstallState, StatusReport},
};

use crate::TestApp;

/// One simulated box.
#[derive(Debug, Clone)]
pub struct Box_ {
    pub serial: String,
    pub model: String,
    pub key: SigningKey,
    pub id: String,
    pub credential: String,
    pub client: Client,
    pub installed: Vec<Component>,
    /// IANA time zone the box reports at check-in.
    pub timezone: Option<String>,
    /// What the box believes, kept between check-ins as the agent keeps it
    /// (so answers leave out a keyring it already holds).
    pub trust: std::sync::Arc<std::sync::Mutex<Option<Trust>>>,
    /// How many licence tokens the last answer gave the box (it says so at
    /// its next check-in, as the agent does).
    pub licence_tokens: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

/// A deterministic identity key for box `n`.
pub fn box_key(n: u32) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(format!("box-{n}")).into())
}

/// Runs a blocking agent call off the async test thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("agent call")
}

/// Enrols `count` boxes of `model` (pre-authorised first, so they are
/// accepted at once) with `installed` components.
pub async fn enrol_many(
    app: &TestApp,
    first: u32,
    count: u32,
    model: &str,
    installed: &[(&str, &str, u64)],
) -> Vec<Box_> {
    let serials: Vec<String> = (first..first + count)
        .map(|n| format!("SN{n:06}"))
        .collect();
    let csv = serials
        .iter()
        .map(|s| format!("{s},{model}\n"))
        .collect::<String>();
    assert_eq!(app.import_serials(&csv).await.status, 200);
    let mut out = Vec::new();
    for (i, serial) in serials.into_iter().enumerate() {
        out.push(enrol_one(app, &serial, model, box_key(first + i as u32), installed).await);
    }
    out
}

/// A fault event `id` at box time `at` from a box running `x1-firmware`
/// at `fw`.
pub fn fault(
    id: &str,
    at: i64,
    code: &str,
    signature: Option<&str>,
    fw: &str,
) -> wavecast_protocol::events::Event {
    use wavecast_protocol::events::{Event, EventBody, FaultReport};
    Event {
        id: id.into(),
        body: EventBody::Fault(FaultReport {
            at,
            code: code.into(),
            signature: signature.map(Into::into),
            details: None,
            installed: vec![Component {
                name: "x1-firmware".into(),
                version: fw.parse().expect("version"),
                security_version: 1,
            }],
        }),
    }
}

/// Sends `events` as box `b` over HTTPS and expects them taken.
pub async fn send_events(app: &TestApp, b: &Box_, events: Vec<wavecast_protocol::events::Event>) {
    let body = serde_json::to_value(wavecast_protocol::events::EventBatch {
        events,
        dropped_total: 0,
    })
    .expect("json");
    let a = app
        .post("/api/v1/device/events", Some(&b.credential), &body)
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
}

/// Enrols one box (its serial must be pre-authorised or accepted).
pub async fn enrol_one(
    app: &TestApp,
    serial: &str,
    model: &str,
    key: SigningKey,
    installed: &[(&str, &str, u64)],
) -> Box_ {
    let identity = Identity {
        serial: serial.into(),
        model: model.into(),
        hardware_revision: "A".into(),
        key: key.clone(),
    };
    let mut client = Client::new(&app.address);
    // The box keeps the server's time (NTP), even when a test moved it.
    let now = app.clock.now().timestamp();
    let (client, answer) = blocking(move || {
        let answer = client.enrol(&identity, now);
        (client, answer)
    })
    .await;
    let answer = answer.expect("enrolment accepted");
    Box_ {
        serial: serial.into(),
        model: model.into(),
        key,
        id: answer.device_id,
        credential: answer.credential.expect("credential"),
        client,
        installed: installed
            .iter()
            .map(|(n, v, s)| Component {
                name: (*n).into(),
                version: v.parse().expect("version"),
                security_version: *s,
            })
            .collect(),
        timezone: None,
        trust: Default::default(),
        licence_tokens: Default::default(),
    }
}

impl Box_ {
    /// Checks in and verifies the answer and every offer as the agent does.
    pub async fn check_in(
        &self,
        app: &TestApp,
        root: &VerifyingKey,
    ) -> (CheckinAnswer, CheckinPayload) {
        let client = self.client.clone();
        let installed = self.installed.clone();
        let timezone = self.timezone.clone();
        let nonce = Client::nonce();
        let sent = nonce.clone();
        let held = self
            .trust
            .lock()
            .expect("trust")
            .as_ref()
            .and_then(Trust::held_keyring);
        let tokens = self
            .licence_tokens
            .load(std::sync::atomic::Ordering::Relaxed);
        let answer =
            blocking(move || client.check_in(&sent, &installed, timezone.as_deref(), held, tokens))
                .await
                .expect("check-in answered");
        let mut guard = self.trust.lock().expect("trust");
        let trust = guard.get_or_insert_with(|| Trust::new(*root));
        let (payload, _, _) = trust
            .verify(&answer, &self.id, &nonce, app.clock.now().timestamp())
            .expect("the answer verifies");
        if let Some(t) = &payload.licences {
            self.licence_tokens.store(
                u32::try_from(t.len()).unwrap_or(u32::MAX),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        (answer, payload)
    }

    /// Reports a status; returns the HTTP status the server answered with.
    pub async fn report(
        &self,
        _app: &TestApp,
        rollout: &str,
        bundle: &str,
        state: InstallState,
        code: Option<&str>,
    ) -> u16 {
        let client = self.client.clone();
        let report = StatusReport {
            rollout_id: rollout.into(),
            bundle_id: bundle.into(),
            state,
            progress: None,
            code: code.map(str::to_owned),
            message: None,
        };
        match blocking(move || client.report(&report)).await {
            Ok(()) => 204,
            Err(ClientError::Refused(p)) => p.status,
            Err(e) => panic!("report failed: {e}"),
        }
    }

    /// Reports that the box started downloading `offer`, asserting the
    /// server took the report.
    pub async fn begin(&self, app: &TestApp, offer: &Offer) {
        let status = self
            .report(
                app,
                &offer.rollout_id,
                &offer.bundle_id,
                InstallState::Downloading,
                None,
            )
            .await;
        assert_eq!(status, 204, "box {} starting {}", self.id, offer.bundle_id);
    }

    /// Checks in and begins the first offer; returns it.
    pub async fn begin_first(&self, app: &TestApp, root: &VerifyingKey) -> Offer {
        let (_, p) = self.check_in(app, root).await;
        let offer = p.offers.first().expect("an offer").clone();
        self.begin(app, &offer).await;
        offer
    }

    /// Installs every offer: reports each step and updates `installed`.
    pub async fn install_all(&mut self, app: &TestApp, root: &VerifyingKey) -> usize {
        let (_, payload) = self.check_in(app, root).await;
        for offer in &payload.offers {
            for s in [
                InstallState::Downloading,
                InstallState::Downloaded,
                InstallState::Installing,
                InstallState::Rebooting,
                InstallState::Succeeded,
            ] {
                assert_eq!(
                    self.report(app, &offer.rollout_id, &offer.bundle_id, s, None)
                        .await,
                    204
                );
            }
            let m = wavecast_protocol::manifest::Manifest::parse(
                &offer.manifest.payload_bytes().expect("payload"),
            )
            .expect("manifest");
            self.installed.retain(|c| c.name != m.name);
            self.installed.push(Component {
                name: m.name,
                version: m.version,
                security_version: m.security_version,
            });
        }
        // The next check-in tells the server what now runs.
        self.check_in(app, root).await;
        payload.offers.len()
    }
}
