//! Simulated boxes for rollout tests: each with its own identity key,
//! credential and installed components. Check-in answers are verified with
//! the protocol crate exactly as a box verifies them.

use ed25519_dalek::{SigningKey, VerifyingKey};
use serde_json::json;
use sha2::{Digest, Sha256};
use wavecast_protocol::{
    checkin::{verify_answer, CheckinAnswer, CheckinPayload, Component},
    device::EnrolClaim,
    keyring::verify_keyring,
    keys::public_key_text,
    status::InstallState,
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
    pub installed: Vec<Component>,
    /// IANA time zone the box reports at check-in.
    pub timezone: Option<String>,
}

/// A deterministic identity key for box `n`.
pub fn box_key(n: u32) -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(format!("box-{n}")).into())
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
    let res = app
        .http
        .post(format!("{}/api/v1/devices/import", app.address))
        .bearer_auth(&app.admin_token)
        .body(csv)
        .send()
        .await
        .expect("import sent");
    assert_eq!(res.status(), 200);
    let mut out = Vec::new();
    for (i, serial) in serials.into_iter().enumerate() {
        let key = box_key(first + i as u32);
        out.push(enrol_one(app, &serial, model, key, installed).await);
    }
    out
}

/// Enrols one box (its serial must be pre-authorised or accepted).
pub async fn enrol_one(
    app: &TestApp,
    serial: &str,
    model: &str,
    key: SigningKey,
    installed: &[(&str, &str, u64)],
) -> Box_ {
    let claim = EnrolClaim {
        serial: serial.into(),
        model: model.into(),
        hardware_revision: "A".into(),
        public_key: public_key_text(&key.verifying_key()),
        timestamp: chrono::Utc::now().timestamp(),
        agent_version: Some("0.1.0".into()),
    }
    .sign(&key)
    .expect("sign");
    let a = app
        .post(
            "/api/v1/device/enrol",
            None,
            &serde_json::to_value(&claim).expect("json"),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    Box_ {
        serial: serial.into(),
        model: model.into(),
        key,
        id: a.body["device_id"].as_str().expect("id").into(),
        credential: a.body["credential"].as_str().expect("credential").into(),
        installed: installed
            .iter()
            .map(|(n, v, s)| Component {
                name: (*n).into(),
                version: v.parse().expect("version"),
                security_version: *s,
            })
            .collect(),
        timezone: None,
    }
}

impl Box_ {
    /// Checks in and verifies the answer as a box would, against `root`.
    pub async fn check_in(
        &self,
        app: &TestApp,
        root: &VerifyingKey,
    ) -> (CheckinAnswer, CheckinPayload) {
        let nonce = format!("nonce-{}-{}", self.serial, uuid::Uuid::new_v4().simple());
        let a = app
            .post(
                "/api/v1/device/check-in",
                Some(&self.credential),
                &json!({
                    "nonce": nonce,
                    "installed": self.installed,
                    "agent_version": "0.1.0",
                    "timezone": self.timezone,
                }),
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        let answer: CheckinAnswer = a.json();
        let now = chrono::Utc::now().timestamp();
        let keyring = verify_keyring(root, &answer.keyring, now, 0).expect("keyring verifies");
        let payload = verify_answer(&keyring, &answer.answer, &self.id, &nonce, now, 300)
            .expect("answer verifies");
        (answer, payload)
    }

    /// Reports a status; returns the HTTP status code.
    pub async fn report(
        &self,
        app: &TestApp,
        rollout: &str,
        bundle: &str,
        state: InstallState,
        code: Option<&str>,
    ) -> u16 {
        app.post(
            "/api/v1/device/status",
            Some(&self.credential),
            &json!({ "rollout_id": rollout, "bundle_id": bundle, "state": state, "code": code }),
        )
        .await
        .status
        .as_u16()
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
