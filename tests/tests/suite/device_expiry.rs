//! A device credential expires and the box renews it with its identity key.

use serde_json::json;
use wavecast_e2e::{trust::key, TestApp};
use wavecast_server::platform::config::Config;

use crate::devices::{claim, enrol};

fn short_credentials(c: &mut Config) {
    c.devices.credential_ttl_secs = 60;
}

async fn expired_credentials_renew_with_the_key(app: TestApp) {
    let op = app.user_with_role("ops", "operator").await;
    let k = key(60);
    enrol(&app, &claim("SN-70", &k, -1)).await;
    app.post("/api/v1/devices/SN-70/accept", Some(&op), &json!({}))
        .await;
    let cred = enrol(&app, &claim("SN-70", &k, 0)).await.body["credential"]
        .as_str()
        .expect("cred")
        .to_owned();
    assert_eq!(
        app.get("/api/v1/device/self", Some(&cred)).await.status,
        200
    );
    // The credential lives a minute on the server's clock.
    app.advance(61);
    let d = app
        .get("/api/v1/device/self", Some(&cred))
        .await
        .problem(401);
    assert!(d.contains("expired"), "{d}");
    // A box signs every claim afresh (a claim is taken once).
    let renewed = enrol(&app, &claim("SN-70", &k, 61)).await;
    assert_eq!(renewed.status, 200, "{}", renewed.body);
    let fresh = renewed.body["credential"].as_str().expect("cred");
    assert_eq!(
        app.get("/api/v1/device/self", Some(fresh)).await.status,
        200
    );
}

wavecast_e2e::both_backends!(configure = short_credentials; expired_credentials_renew_with_the_key);
