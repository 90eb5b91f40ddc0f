//! The in-memory device directory on several instances sharing one
//! PostgreSQL database: a box decommissioned through one instance is refused by the
//! others within about a second, and a renewed credential replaces the old
//! one everywhere.

use std::time::{Duration, Instant};

use serde_json::json;
use wavecast_agent::client::{Client, ClientError};
use wavecast_e2e::{
    fleet::{box_key, enrol_many, enrol_one},
    trust::Keys,
    TestApp,
};
use wavecast_server::startup::Application;

/// Starts another instance on the same database and returns its address.
pub(crate) async fn second_instance(app: &TestApp) -> String {
    let other = Application::build(app.config.clone())
        .await
        .expect("a second instance starts");
    let address = format!("http://127.0.0.1:{}", other.port());
    tokio::spawn(other.run_until_stopped());
    address
}

/// Checks in on `base` with `credential`; the HTTP status of a refusal, or 200.
async fn check_in(base: &str, credential: &str) -> u16 {
    let client = Client::new(base).with_credential(credential);
    tokio::task::spawn_blocking(move || {
        match client.check_in(&Client::nonce(), &[], None, None, 0) {
            Ok(_) => 200,
            Err(ClientError::Refused(p)) => p.status,
            Err(e) => panic!("check-in failed: {e}"),
        }
    })
    .await
    .expect("agent client")
}

/// Waits until `base` refuses `credential` (at most 5 s).
async fn refused_soon(base: &str, credential: &str, what: &str) {
    let started = Instant::now();
    while check_in(base, credential).await == 200 {
        assert!(started.elapsed() < Duration::from_secs(5), "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(check_in(base, credential).await, 401, "{what}");
}

async fn a_renewed_credential_replaces_the_old_one_everywhere(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let other = second_instance(&app).await;
    let old = enrol_many(&app, 1200, 1, "X1", &[]).await.remove(0);
    assert_eq!(check_in(&other, &old.credential).await, 200);
    // A claim is taken once: the box's next one is made at least a second later.
    app.advance(1);
    let renewed = enrol_one(&app, &old.serial, "X1", box_key(1200), &[]).await;
    assert_ne!(renewed.credential, old.credential);
    assert_eq!(
        check_in(&app.address, &old.credential).await,
        401,
        "at once where it happened"
    );
    refused_soon(
        &other,
        &old.credential,
        "the other instance still takes the old credential",
    )
    .await;
    assert_eq!(check_in(&other, &renewed.credential).await, 200);
    assert_eq!(check_in(&app.address, &renewed.credential).await, 200);
}

async fn decommissioning_reaches_every_instance(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let other = second_instance(&app).await;
    let boxes = enrol_many(&app, 1100, 1, "X1", &[]).await;
    let b = &boxes[0];
    assert_eq!(check_in(&app.address, &b.credential).await, 200);
    assert_eq!(
        check_in(&other, &b.credential).await,
        200,
        "known on the other instance"
    );
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.body["device_directory"], "filled", "{}", ready.body);
    assert_eq!(ready.body["devices_in_directory"], 1, "{}", ready.body);
    let gone = app
        .post(
            &format!("/api/v1/devices/{}/decommission", b.serial),
            Some(&app.admin_token),
            &json!({}),
        )
        .await;
    assert_eq!(gone.status, 200);
    assert_eq!(
        check_in(&app.address, &b.credential).await,
        401,
        "at once where it happened"
    );
    assert_eq!(
        app.get("/readyz", None).await.body["devices_in_directory"],
        0
    );
    refused_soon(
        &other,
        &b.credential,
        "the other instance still accepts a decommissioned box",
    )
    .await;
}

// Several instances share PostgreSQL: the embedded SQLite backend serves
// one instance (one writing connection; a second process writing to the same
// file may fail a transaction with SQLITE_BUSY_SNAPSHOT, as it did here under
// load), so these run on PostgreSQL only.
mod postgres {
    use super::*;

    async fn app() -> Option<TestApp> {
        TestApp::spawn_with(
            wavecast_e2e::Backend::Postgres,
            wavecast_e2e::trust::server_signs,
        )
        .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn decommissioning_reaches_every_instance() {
        if let Some(app) = app().await {
            super::decommissioning_reaches_every_instance(app).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_renewed_credential_replaces_the_old_one_everywhere() {
        if let Some(app) = app().await {
            super::a_renewed_credential_replaces_the_old_one_everywhere(app).await;
        }
    }
}
