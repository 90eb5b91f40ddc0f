//! What a hostile box or client tries at the edge, refused: a copied
//! enrolment claim (on this instance and on another one sharing the
//! database), artifacts of bundles not offered to boxes, and malformed or
//! oversized input.

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wavecast_agent::trust::Trust;
use wavecast_e2e::{
    app::Answer,
    fleet::enrol_many,
    trust::{bundle_file, good_bundle, key, manifest, payload, Keys},
    TestApp,
};
use wavecast_protocol::{
    checkin::{sign_answer, CheckinAnswer, CheckinPayload, Offer},
    keyring::{sign_manifest, KeyRole},
    keys::public_key_text,
};
use wavecast_server::startup::Application;

use crate::{
    devices::{claim, enrol},
    directory::second_instance,
};

async fn an_enrolment_claim_is_taken_once_on_every_instance(app: TestApp) {
    let op = app.user_with_role("ops", "operator").await;
    let k = key(80);
    assert_eq!(enrol(&app, &claim("SN-80", &k, -2)).await.status, 202);
    let a = app
        .post("/api/v1/devices/SN-80/accept", Some(&op), &json!({}))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let seen = claim("SN-80", &k, -1);
    let first = enrol(&app, &seen).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let credential = first.body["credential"].as_str().expect("credential");

    // Whoever copied the claim gets nothing, here or on another instance,
    // and the box keeps its credential.
    let d = enrol(&app, &seen).await.problem(409);
    assert!(d.contains("already used"), "{d}");
    // Several instances share PostgreSQL (SQLite serves one instance).
    if app.backend == wavecast_e2e::Backend::Postgres {
        let other = second_instance(&app).await;
        let there = Answer::read(
            app.http
                .post(format!("{other}/api/v1/device/enrol"))
                .json(&seen)
                .send()
                .await
                .expect("the second instance answers"),
        )
        .await;
        assert!(there.problem(409).contains("already used"));
    }
    let me = app.get("/api/v1/device/self", Some(credential)).await;
    assert_eq!(me.status, 200, "the box's own credential still works");

    // The box itself signs a new claim and enrols again.
    let again = enrol(&app, &claim("SN-80", &k, 0)).await;
    assert_eq!(again.status, 200, "{}", again.body);
    // Once stale, a copied claim is refused for its age: nothing to remember.
    app.advance(400);
    let d = enrol(&app, &seen).await.problem(422);
    assert!(d.contains("clock"), "{d}");
}

/// `GET url` with `credential`; the status.
async fn fetch(app: &TestApp, url: &str, credential: &str) -> u16 {
    app.http
        .get(url)
        .bearer_auth(credential)
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

async fn boxes_get_only_artifacts_of_bundles_on_offer(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let b = &enrol_many(&app, 1, 1, "X1", &[]).await[0];
    let a = app
        .upload(good_bundle(&keys, "fw", "1.0.0", &payload(2_000, 3)))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let url = format!(
        "{}{}",
        app.address,
        a.body["artifacts"][0]["download"].as_str().expect("path")
    );
    let act = |action: &'static str| {
        let app = &app;
        async move {
            let a = app
                .post(
                    &format!("/api/v1/bundles/fw@1.0.0/{action}"),
                    Some(&app.admin_token),
                    &json!({ "reason": "test" }),
                )
                .await;
            assert_eq!(a.status, 200, "{}", a.body);
        }
    };
    // Staged: not released yet. Operators may fetch it; a box may not.
    assert_eq!(fetch(&app, &url, &b.credential).await, 404);
    assert_eq!(fetch(&app, &url, &app.admin_token).await, 200);
    act("publish").await;
    assert_eq!(fetch(&app, &url, &b.credential).await, 200);
    act("deprecate").await;
    assert_eq!(
        fetch(&app, &url, &b.credential).await,
        200,
        "deprecated bundles still serve running rollouts"
    );
    act("revoke").await;
    assert_eq!(fetch(&app, &url, &b.credential).await, 404);
    assert_eq!(fetch(&app, &url, &app.admin_token).await, 200);
}

async fn the_online_check_in_key_cannot_sign_what_boxes_install(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let data = payload(5_000, 9);
    // The server refuses a bundle signed by the check-in key.
    let by_checkin = sign_manifest(&manifest("fw", "6.6.6", &data), &keys.checkin).expect("sign");
    let a = app
        .upload(bundle_file(&keys.keyring_env, &by_checkin, &data))
        .await;
    let d = a.problem(422);
    assert!(d.contains("may not sign firmware"), "{d}");
    app.assert_nothing_stored().await;

    // A server that holds only the check-in key crafts an answer offering
    // it anyway: the agent's own verification refuses the offer.
    let b = &enrol_many(&app, 1, 1, "X1", &[]).await[0];
    let nonce = "n".repeat(16);
    let payload = CheckinPayload {
        device_id: b.id.clone(),
        nonce: nonce.clone(),
        issued_at: chrono::Utc::now().timestamp(),
        offers: vec![Offer {
            rollout_id: "r".into(),
            bundle_id: "b".into(),
            manifest: by_checkin,
            artifacts: vec![],
            allow_downgrade: false,
        }],
        next_checkin_secs: 60,
        mqtt_url: None,
        licences: None,
    };
    let answer = CheckinAnswer {
        keyring: Some(keys.keyring_env.clone()),
        answer: sign_answer(&payload, &keys.checkin).expect("sign"),
        batch: None,
    };
    let mut trust = Trust::new(keys.root.verifying_key());
    let now = chrono::Utc::now().timestamp();
    let e = trust
        .verify(&answer, &b.id, &nonce, now)
        .expect_err("the agent refuses the offer");
    assert!(e.to_string().contains("may not sign firmware"), "{e}");

    // Publishing a keyring that gives the server's key a bundle role is refused.
    let mut both = keys.keyring.clone();
    both.version = 2;
    both.keys.retain(|k| k.name != "checkin-1");
    both.add(
        &keys.checkin.verifying_key(),
        [KeyRole::Checkin, KeyRole::Firmware],
        "checkin-2",
    );
    let env = both.sign(&keys.root).expect("sign");
    let a = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/keyring",
            Some(&app.admin_token),
            Some(&json!({
                "root_public_key": public_key_text(&keys.root.verifying_key()),
                "keyring": env,
            })),
        )
        .await;
    let d = a.problem(409);
    assert!(d.contains("allow_online_bundle_roles"), "{d}");
}

async fn input_is_checked_at_the_edge(app: TestApp) {
    let op = app.user_with_role("ops", "operator").await;
    // A serial that reads as a path, and a time zone that does.
    let d = enrol(&app, &claim("../../etc/passwd", &key(81), 0))
        .await
        .problem(422);
    assert!(d.contains("serial"), "{d}");
    let b = &enrol_many(&app, 1, 1, "X1", &[]).await[0];
    let checkin = |tz: &str| json!({ "nonce": "n".repeat(16), "installed": [], "timezone": tz });
    let a = app
        .post(
            "/api/v1/device/check-in",
            Some(&b.credential),
            &checkin("../../etc/localtime"),
        )
        .await;
    assert!(a.problem(422).contains("IANA"));
    // A check-in declared as UTF-16 is refused, not misread.
    let res = app
        .http
        .post(format!("{}/api/v1/device/check-in", app.address))
        .bearer_auth(&b.credential)
        .header("content-type", "application/json; charset=utf-16")
        .body(checkin("Europe/Paris").to_string())
        .send()
        .await
        .expect("sent");
    assert!(Answer::read(res).await.problem(415).contains("utf-16"));

    // The manufacturing list: a path as a serial, bytes that are not
    // UTF-8, and a body over the cap are refused as problems, storing nothing.
    let import = |body: Vec<u8>| {
        let app = &app;
        let op = op.clone();
        async move {
            let res = app
                .http
                .post(format!("{}/api/v1/devices/import", app.address))
                .bearer_auth(op)
                .header("content-type", "text/csv")
                .body(body)
                .send()
                .await
                .expect("sent");
            Answer::read(res).await
        }
    };
    let d = import(b"SN-OK\n../../etc/passwd\n".to_vec())
        .await
        .problem(422);
    assert!(d.contains("line 2"), "{d}");
    let d = import(b"SN-OK\nSN\xff\xfe\n".to_vec()).await.problem(422);
    assert!(d.contains("line 2: not UTF-8"), "{d}");
    let big = "SN-0000000001,X1\n".repeat((49 << 20) / 17);
    let d = import(big.into_bytes()).await.problem(413);
    assert!(d.contains("MiB"), "{d}");
    let again = import(b"SN-OK\n".to_vec()).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        again.body["added"], 1,
        "nothing was kept from the refused lists"
    );
}

async fn ranges_and_request_framing_are_refused_cleanly(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let a = app
        .upload(good_bundle(&keys, "fw", "1.0.0", &payload(1_000, 5)))
        .await;
    let url = format!(
        "{}{}",
        app.address,
        a.body["artifacts"][0]["download"].as_str().expect("path")
    );
    let res = app
        .http
        .get(&url)
        .bearer_auth(&app.admin_token)
        .header("range", "bytes=-0")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 416);
    assert_eq!(res.headers()["content-range"], "bytes */1000");

    // Content-Length and Transfer-Encoding together: request smuggling,
    // refused by the HTTP parser with 400 before the server reads anything.
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    s.write_all(
        b"POST /api/v1/device/enrol HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\
          Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    )
    .await
    .expect("write");
    let mut head = vec![0u8; 64];
    let n = s.read(&mut head).await.expect("read");
    assert!(
        String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&head[..n])
    );
}

async fn a_server_whose_online_key_may_sign_bundles_does_not_start(app: TestApp) {
    let keys = Keys::new();
    // One key for everything, as a careless keyring would have it.
    let mut one = keys.keyring.clone();
    one.keys.retain(|k| k.name != "checkin-1");
    one.add(
        &keys.checkin.verifying_key(),
        [KeyRole::Checkin, KeyRole::Firmware],
        "everything",
    );
    keys.publish_envelope(&app, &one.sign(&keys.root).expect("sign"))
        .await;
    let path = app.dir.path().join("online.key");
    let file = wavecast_protocol::keys::PrivateKeyFile::new(&keys.checkin, "online");
    std::fs::write(&path, serde_json::to_string(&file).expect("json")).expect("write");
    let mut config = app.config.clone();
    config.signing.key_file = Some(path);
    let e = match Application::build(config.clone()).await {
        Ok(_) => panic!("the server started with a key that may sign firmware"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        e.contains("may also sign firmware") && e.contains("allow_online_bundle_roles"),
        "{e}"
    );
    config.signing.allow_online_bundle_roles = true;
    assert!(
        Application::build(config).await.is_ok(),
        "an operator may accept the risk"
    );
}

/// Enrolment limits: one address over its burst is told to wait, and
/// unknown serials stop being recorded once enough boxes wait.
fn tight_enrolment(c: &mut wavecast_server::platform::config::Config) {
    c.devices.enrol_burst = 5;
    c.devices.enrol_rate_per_sec = 0.01;
    c.devices.max_pending = 3;
}

async fn enrolment_floods_are_held_back(app: TestApp) {
    let mut statuses = Vec::new();
    for n in 0..5u8 {
        let serial = format!("FLOOD-{n}");
        let a = enrol(&app, &claim(&serial, &key(100 + n), 0)).await;
        statuses.push(a.status);
    }
    assert_eq!(statuses, [202, 202, 202, 503, 503], "at most 3 wait");
    let a = enrol(&app, &claim("FLOOD-9", &key(109), 0)).await;
    let d = a.problem(429);
    assert!(d.contains("too many enrolments"), "{d}");
    let op = app.user_with_role("ops", "operator").await;
    let pending = app.get("/api/v1/devices?status=pending", Some(&op)).await;
    assert_eq!(pending.body["total"], 3);
}

wavecast_e2e::both_backends!(
    an_enrolment_claim_is_taken_once_on_every_instance,
    a_server_whose_online_key_may_sign_bundles_does_not_start,
    boxes_get_only_artifacts_of_bundles_on_offer,
    input_is_checked_at_the_edge,
    ranges_and_request_framing_are_refused_cleanly,
);

mod online_key {
    use super::*;
    wavecast_e2e::both_backends!(
        configure = wavecast_e2e::trust::server_signs;
        the_online_check_in_key_cannot_sign_what_boxes_install
    );
}

mod limits {
    use super::*;
    wavecast_e2e::both_backends!(configure = tight_enrolment; enrolment_floods_are_held_back);
}
