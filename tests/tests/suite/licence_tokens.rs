//! Licence tokens through check-ins, on the server's clock: each policy's
//! expiry with its grace period as the box would judge its token, a
//! revocation and a deactivation reaching the box at its next check-in,
//! and validation answers signed over the caller's nonce so a replayed
//! answer is refused.

use serde_json::{json, Value};
use wavecast_e2e::{
    fleet::{enrol_many, Box_},
    trust::Keys,
    TestApp,
};
use wavecast_protocol::{
    envelope::Envelope,
    keys::public_key_text,
    licence::{judge, open_token, verify_validation, LicenceToken, Question},
};

/// The tokens box `b` gets at a check-in (`None`: the server said nothing).
async fn tokens(app: &TestApp, keys: &Keys, b: &Box_) -> Option<Vec<LicenceToken>> {
    let (_, p) = b.check_in(app, &keys.root.verifying_key()).await;
    p.licences.map(|list| {
        list.iter()
            .map(|env| {
                open_token(&keys.keyring, env).expect("a token signed under the licence role")
            })
            .collect()
    })
}

/// The box's own verdict on its one token, now on the server's clock.
fn verdict(app: &TestApp, b: &Box_, t: &LicenceToken) -> String {
    let key = public_key_text(&b.key.verifying_key());
    judge(
        t,
        &Question {
            device_id: &b.id,
            device_key: &key,
            product: "codec-ddp",
            entitlement: None,
            now: app.clock.now().timestamp(),
        },
    )
    .code
}

async fn post(app: &TestApp, path: &str, body: Value) -> Value {
    let r = app.post(path, Some(&app.admin_token), &body).await;
    assert!(r.status.is_success(), "{path}: {} {}", r.status, r.body);
    r.body
}

async fn tokens_follow_each_policy_through_expiry_and_state(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let boxes = enrol_many(&app, 300, 4, "X1", &[("x1-firmware", "4.1.0", 1)]).await;
    post(
        &app,
        "/api/v1/products",
        json!({ "code": "codec-ddp", "name": "Dolby Digital Plus", "entitlements": ["ddp"] }),
    )
    .await;
    let mut licences = Vec::new();
    for (b, expiry) in boxes.iter().zip(["stop", "keep_installed", "keep_using"]) {
        post(
            &app,
            "/api/v1/licence-policies",
            json!({ "name": expiry, "product": "codec-ddp", "duration_days": 10,
                    "expiry": expiry, "grace_days": 2, "max_boxes": 1,
                    "max_activations_per_day": 3, "entitlements": ["ddp"] }),
        )
        .await;
        let l = post(
            &app,
            "/api/v1/licences",
            json!({ "policy": expiry, "device": b.serial }),
        )
        .await;
        let id = l["id"].as_str().expect("id").to_owned();
        post(
            &app,
            &format!("/api/v1/licences/{id}/activations"),
            json!({ "device": b.serial }),
        )
        .await;
        licences.push(id);
    }
    // A box without a licence is told nothing about licences.
    assert_eq!(tokens(&app, &keys, &boxes[3]).await, None);

    let start = app.clock.now().timestamp();
    for (i, b) in boxes[..3].iter().enumerate() {
        let t = tokens(&app, &keys, b).await.expect("tokens");
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].licence_id, licences[i]);
        assert_eq!(t[0].entitlements, ["ddp"]);
        assert_eq!(verdict(&app, b, &t[0]), "VALID");
        // A day after it was signed (the clock may have crossed a second since `start`).
        let signed = app.clock.now().timestamp();
        assert!(t[0].refresh_after > start && t[0].refresh_after <= signed + 86_400);
        // Only the stopping policy bounds use: expiry plus grace.
        let until = (i == 0).then_some(start + 12 * 86_400);
        assert_eq!(t[0].use_until.map(|u| u / 60), until.map(|u| u / 60), "{i}");
    }

    // Expired, in the grace period: every policy still valid, updates too.
    app.advance(11 * 86_400);
    for b in &boxes[..3] {
        let t = tokens(&app, &keys, b).await.expect("tokens");
        assert_eq!((t[0].valid, t[0].updates), (true, true));
        assert!(t[0].detail.contains("grace"), "{}", t[0].detail);
        assert_eq!(verdict(&app, b, &t[0]), "VALID");
    }
    // After the grace period each policy does what it says.
    app.advance(2 * 86_400);
    let t = tokens(&app, &keys, &boxes[0]).await.expect("tokens");
    assert_eq!((t[0].valid, t[0].code.as_str()), (false, "EXPIRED"));
    assert_eq!(verdict(&app, &boxes[0], &t[0]), "EXPIRED");
    let t = tokens(&app, &keys, &boxes[1]).await.expect("tokens");
    assert_eq!(
        (t[0].valid, t[0].code.as_str(), t[0].updates),
        (true, "EXPIRED", false),
        "keep installed: usable, no updates"
    );
    assert_eq!(verdict(&app, &boxes[1], &t[0]), "VALID");
    let t = tokens(&app, &keys, &boxes[2]).await.expect("tokens");
    assert_eq!((t[0].valid, t[0].updates), (true, true), "keep using");

    // A revocation reaches the box at its next check-in; so does a
    // deactivation: the box that holds a token gets an empty set.
    post(
        &app,
        &format!("/api/v1/licences/{}/revoke", licences[2]),
        json!({}),
    )
    .await;
    let t = tokens(&app, &keys, &boxes[2]).await.expect("tokens");
    assert_eq!((t[0].valid, t[0].code.as_str()), (false, "REVOKED"));
    assert_eq!(verdict(&app, &boxes[2], &t[0]), "REVOKED");
    let d = app
        .request(
            reqwest::Method::DELETE,
            &format!(
                "/api/v1/licences/{}/activations/{}",
                licences[1], boxes[1].serial
            ),
            Some(&app.admin_token),
            None::<&Value>,
        )
        .await;
    assert_eq!(d.status, 204, "{}", d.body);
    assert_eq!(tokens(&app, &keys, &boxes[1]).await, Some(Vec::new()));

    // Another box's token judged on this box: DEVICE_MISMATCH.
    let t = tokens(&app, &keys, &boxes[0]).await.expect("tokens");
    assert_eq!(verdict(&app, &boxes[3], &t[0]), "DEVICE_MISMATCH");
}

async fn validation_answers_are_signed_over_the_nonce(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let boxes = enrol_many(&app, 400, 1, "X1", &[("x1-firmware", "4.1.0", 1)]).await;
    post(
        &app,
        "/api/v1/products",
        json!({ "code": "codec-ddp", "name": "Dolby Digital Plus" }),
    )
    .await;
    post(
        &app,
        "/api/v1/licence-policies",
        json!({ "name": "box", "product": "codec-ddp", "expiry": "stop", "max_boxes": 1,
                "max_activations_per_day": 3 }),
    )
    .await;
    let l = post(
        &app,
        "/api/v1/licences",
        json!({ "policy": "box", "device": boxes[0].serial }),
    )
    .await;
    let id = l["id"].as_str().expect("id");
    post(
        &app,
        &format!("/api/v1/licences/{id}/activations"),
        json!({ "device": boxes[0].serial }),
    )
    .await;
    let now = || app.clock.now().timestamp();
    let ask = |nonce: &str| {
        json!({ "licence": id, "product": "codec-ddp",
                                    "device": boxes[0].serial, "nonce": nonce })
    };
    let first = post(&app, "/api/v1/licences/validate", ask("billing-0001")).await;
    let signed: Envelope = serde_json::from_value(first["signed"].clone()).expect("signed");
    let a = verify_validation(&keys.keyring, &signed, "billing-0001", now(), 300)
        .expect("the answer verifies for its nonce");
    assert_eq!((a.valid, a.code.as_str()), (true, "VALID"));
    assert_eq!(a.licence_id.as_deref(), Some(id));
    // The same answer replayed to the next question is refused, and so is
    // an answer grown old.
    let e = verify_validation(&keys.keyring, &signed, "billing-0002", now(), 300)
        .expect_err("a replay");
    assert!(e.to_string().contains("replay"), "{e}");
    app.advance(600);
    assert!(verify_validation(&keys.keyring, &signed, "billing-0001", now(), 300).is_err());
    // A refusal is signed too; no nonce, nothing to sign.
    let gone = post(
        &app,
        "/api/v1/licences/validate",
        json!({ "key": "wcl_0000000000_nope", "nonce": "billing-0003" }),
    )
    .await;
    let signed: Envelope = serde_json::from_value(gone["signed"].clone()).expect("signed");
    let a = verify_validation(&keys.keyring, &signed, "billing-0003", now(), 300).expect("ok");
    assert_eq!((a.valid, a.code.as_str()), (false, "NOT_FOUND"));
    let plain = post(&app, "/api/v1/licences/validate", json!({ "licence": id })).await;
    assert!(plain.get("signed").is_none(), "{plain}");
    // The box's own question over its credential is signed the same way.
    let own = app
        .request(
            reqwest::Method::POST,
            "/api/v1/device/licences/validate",
            Some(&boxes[0].credential),
            Some(&json!({ "product": "codec-ddp", "nonce": "box-nonce-0001" })),
        )
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
    let signed: Envelope = serde_json::from_value(own.body["signed"].clone()).expect("signed");
    let a = verify_validation(&keys.keyring, &signed, "box-nonce-0001", now(), 300).expect("ok");
    assert_eq!((a.valid, a.product.as_deref()), (true, Some("codec-ddp")));

    // Every question is in the validation log, newest first, with who
    // asked; the unknown key's question names no licence.
    let log = app
        .get(
            &format!("/api/v1/licences/validations?licence={id}"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(log.status, 200, "{}", log.body);
    let entries = log.body.as_array().expect("entries");
    let seen: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["code"].as_str().unwrap_or_default(),
                e["caller"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let by_box = format!("device {}", boxes[0].serial);
    assert_eq!(
        seen,
        [
            ("VALID", by_box.as_str()),
            ("VALID", "admin"),
            ("VALID", "admin")
        ],
        "{}",
        log.body
    );
    assert_eq!(entries[0]["serial"], boxes[0].serial.as_str());
    let all = app
        .get(
            "/api/v1/licences/validations?limit=10",
            Some(&app.admin_token),
        )
        .await;
    assert!(
        all.body
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["code"] == "NOT_FOUND" && e["licence_id"].is_null()),
        "{}",
        all.body
    );
    assert!(app
        .get(
            "/api/v1/licences/validations?limit=0",
            Some(&app.admin_token)
        )
        .await
        .problem(422)
        .contains("limit"));
}

/// The server signs, and device credentials outlive the weeks these tests
/// move the clock through.
fn configure(c: &mut wavecast_server::platform::config::Config) {
    wavecast_e2e::trust::server_signs(c);
    c.devices.credential_ttl_secs = 90 * 86_400;
}

wavecast_e2e::both_backends!(
    configure = configure;
    tokens_follow_each_policy_through_expiry_and_state,
    validation_answers_are_signed_over_the_nonce
);
