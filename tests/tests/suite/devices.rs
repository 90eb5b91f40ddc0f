//! Device enrolment: proof of key possession, pending until accepted or
//! pre-authorised, hashed credentials, re-enrolment, clones refused,
//! decommissioning; devices see only themselves.

use ed25519_dalek::SigningKey;
use reqwest::Method;
use serde_json::{json, Value};
use wavecast_e2e::{trust::key, TestApp};
use wavecast_protocol::{device::EnrolClaim, envelope::Envelope, keys::public_key_text};

pub(crate) fn claim(serial: &str, key: &SigningKey, skew: i64) -> Envelope {
    EnrolClaim {
        serial: serial.into(),
        model: "X1".into(),
        hardware_revision: "A".into(),
        public_key: public_key_text(&key.verifying_key()),
        timestamp: chrono::Utc::now().timestamp() + skew,
        agent_version: Some("0.1.0".into()),
    }
    .sign(key)
    .expect("sign")
}

pub(crate) async fn enrol(app: &TestApp, env: &Envelope) -> wavecast_e2e::app::Answer {
    app.post(
        "/api/v1/device/enrol",
        None,
        &serde_json::to_value(env).expect("json"),
    )
    .await
}

async fn operator(app: &TestApp) -> String {
    app.user_with_role("ops", "operator").await
}

async fn pending_until_accepted_then_credential(app: TestApp) {
    let k = key(10);
    let first = enrol(&app, &claim("SN-1", &k, 0)).await;
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(first.body["status"], "pending");
    assert!(first.body.get("credential").is_none());
    let op = operator(&app).await;
    let a = app
        .post("/api/v1/devices/SN-1/accept", Some(&op), &json!({}))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let second = enrol(&app, &claim("SN-1", &k, 0)).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let cred = second.body["credential"]
        .as_str()
        .expect("credential")
        .to_owned();
    assert!(cred.starts_with("wcd_"));
    let me = app.get("/api/v1/device/self", Some(&cred)).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["serial"], "SN-1");
    // The server keeps only a hash: the listing shows the prefix, never the secret.
    let listed = app.get("/api/v1/devices", Some(&op)).await;
    assert!(!listed.body.to_string().contains(&cred));
    assert!(cred.starts_with(
        listed.body["items"][0]["credential_prefix"]
            .as_str()
            .expect("prefix")
    ));
}

async fn preauthorized_serials_enrol_at_once(app: TestApp) {
    let op = operator(&app).await;
    let res = app
        .http
        .post(format!("{}/api/v1/devices/import", app.address))
        .bearer_auth(&op)
        .body("serial,model\nSN-10,X1\nSN-11,X1\nSN-12,X2\n")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.expect("json");
    assert_eq!(r["added"], 3);
    let a = enrol(&app, &claim("SN-11", &key(11), 0)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["status"], "accepted");
    // Pre-authorised for another model: waits for an operator.
    let b = enrol(&app, &claim("SN-12", &key(12), 0)).await;
    assert_eq!(b.status, 202, "{}", b.body);
    // A pending box is accepted by a later import naming it.
    let c = enrol(&app, &claim("SN-13", &key(13), 0)).await;
    assert_eq!(c.status, 202);
    let res = app
        .http
        .post(format!("{}/api/v1/devices/import", app.address))
        .bearer_auth(&op)
        .body("SN-13\n")
        .send()
        .await
        .expect("sent");
    let r: Value = res.json().await.expect("json");
    assert_eq!(
        (r["added"].clone(), r["accepted"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(enrol(&app, &claim("SN-13", &key(13), 0)).await.status, 200);
    // A bad line refuses the whole file.
    let res = app
        .http
        .post(format!("{}/api/v1/devices/import", app.address))
        .bearer_auth(&op)
        .body("SN-20\nSN-21,X1,extra\n")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 422);
    let listed = app.get("/api/v1/devices?status=pending", Some(&op)).await;
    assert!(!listed.body.to_string().contains("SN-20"));
}

async fn forged_stale_and_cloned_enrolments_are_refused(app: TestApp) {
    let k = key(20);
    // Signed by another key than the one claimed.
    let mut forged = claim("SN-30", &k, 0);
    forged.signatures.clear();
    forged.sign(&key(21)).expect("sign");
    let d = enrol(&app, &forged).await.problem(422);
    assert!(d.contains("proof of possession"), "{d}");
    let d = enrol(&app, &claim("SN-30", &k, -3600)).await.problem(422);
    assert!(d.contains("clock"), "{d}");
    assert_eq!(enrol(&app, &claim("SN-30", &k, 0)).await.status, 202);
    // The same serial with another key: a clone.
    let d = enrol(&app, &claim("SN-30", &key(22), 0)).await.problem(409);
    assert!(d.contains("another identity key"), "{d}");
    let bad = app
        .post(
            "/api/v1/device/enrol",
            None,
            &json!({ "payloadType": "x", "payload": "!!", "signatures": [] }),
        )
        .await;
    bad.problem(422);
}

async fn a_new_enrolment_replaces_the_credential(app: TestApp) {
    let op = operator(&app).await;
    let k = key(30);
    enrol(&app, &claim("SN-40", &k, 0)).await;
    app.post("/api/v1/devices/SN-40/accept", Some(&op), &json!({}))
        .await;
    let first = enrol(&app, &claim("SN-40", &k, 0)).await.body["credential"].clone();
    let second = enrol(&app, &claim("SN-40", &k, 0)).await.body["credential"].clone();
    assert_ne!(first, second, "a new credential each time");
    let old = first.as_str().expect("cred");
    let new = second.as_str().expect("cred");
    assert_eq!(
        app.get("/api/v1/device/self", Some(old)).await.status,
        401,
        "replaced"
    );
    assert_eq!(app.get("/api/v1/device/self", Some(new)).await.status, 200);
}

async fn decommissioned_devices_are_locked_out(app: TestApp) {
    let op = operator(&app).await;
    let k = key(40);
    enrol(&app, &claim("SN-50", &k, 0)).await;
    app.post("/api/v1/devices/SN-50/accept", Some(&op), &json!({}))
        .await;
    let cred = enrol(&app, &claim("SN-50", &k, 0)).await.body["credential"]
        .as_str()
        .expect("cred")
        .to_owned();
    let a = app
        .post("/api/v1/devices/SN-50/decommission", Some(&op), &json!({}))
        .await;
    assert_eq!(a.body["status"], "decommissioned");
    assert_eq!(
        app.get("/api/v1/device/self", Some(&cred)).await.status,
        401
    );
    let d = enrol(&app, &claim("SN-50", &k, 0)).await.problem(403);
    assert!(d.contains("decommissioned"), "{d}");
    let audit = app
        .get("/api/v1/audit?object_type=device", Some(&app.admin_token))
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["device.decommission", "device.accept", "device.enrol"]
    );
}

async fn credentials_and_tokens_do_not_cross(app: TestApp) {
    let op = operator(&app).await;
    let k = key(50);
    enrol(&app, &claim("SN-60", &k, 0)).await;
    app.post("/api/v1/devices/SN-60/accept", Some(&op), &json!({}))
        .await;
    let cred = enrol(&app, &claim("SN-60", &k, 0)).await.body["credential"]
        .as_str()
        .expect("cred")
        .to_owned();
    // A device credential opens no management route, an operator token no device route.
    app.get("/api/v1/devices", Some(&cred)).await.problem(401);
    app.get("/api/v1/device/self", Some(&op)).await.problem(401);
    // Viewers read the fleet but cannot accept devices.
    let viewer = app.user_with_role("vw", "viewer").await;
    assert_eq!(
        app.get("/api/v1/devices/SN-60", Some(&viewer)).await.status,
        200
    );
    app.request(
        Method::POST,
        "/api/v1/devices/SN-60/reject",
        Some(&viewer),
        Some(&json!({})),
    )
    .await
    .problem(403);
}

wavecast_e2e::both_backends!(
    pending_until_accepted_then_credential,
    preauthorized_serials_enrol_at_once,
    forged_stale_and_cloned_enrolments_are_refused,
    a_new_enrolment_replaces_the_credential,
    decommissioned_devices_are_locked_out,
    credentials_and_tokens_do_not_cross,
);
