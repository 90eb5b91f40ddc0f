//! Licences over the API: products, policies, licences held by a
//! subscriber or a box, activations within the policy's limits, and the
//! validation API's every code, on the server's clock.

use serde_json::{json, Value};
use wavecast_e2e::{fleet::enrol_many, support::subscriber, TestApp};

/// Validates with `body` and answers (valid, code, nonce).
async fn validate(app: &TestApp, body: Value) -> (bool, String, Value) {
    let v = app
        .post("/api/v1/licences/validate", Some(&app.admin_token), &body)
        .await;
    assert_eq!(v.status, 200, "{}", v.body);
    (
        v.body["valid"].as_bool().expect("valid"),
        v.body["code"].as_str().expect("code").to_owned(),
        v.body["nonce"].clone(),
    )
}

async fn a_licence_is_valid_only_where_and_while_its_policy_says(app: TestApp) {
    let t = Some(app.admin_token.as_str());
    let boxes = enrol_many(&app, 1, 7, "X1", &[("x1-firmware", "4.1.0", 1)]).await;
    let serials: Vec<&str> = boxes.iter().map(|b| b.serial.as_str()).collect();
    subscriber(&app, "A-1", "basic", None, &serials[..6], app.clock.now()).await;
    let p = app
        .post(
            "/api/v1/products",
            t,
            &json!({ "code": "codec-ddp", "name": "Dolby Digital Plus", "entitlements": ["atmos", "ddp"] }),
        )
        .await;
    assert_eq!(p.status, 201, "{}", p.body);
    assert_eq!(
        app.post("/api/v1/products", t, &p.body).await.status,
        422,
        "unknown fields"
    );
    let again = app
        .post(
            "/api/v1/products",
            t,
            &json!({ "code": "codec-ddp", "name": "x" }),
        )
        .await;
    assert!(again.problem(409).contains("exists"));
    let pol = app
        .post(
            "/api/v1/licence-policies",
            t,
            &json!({ "name": "ddp-yearly", "product": "codec-ddp", "duration_days": 30,
                     "expiry": "keep_installed", "grace_days": 2, "max_boxes": 5,
                     "floating": true, "max_activations_per_day": 20, "entitlements": ["ddp"] }),
        )
        .await;
    assert_eq!(pol.status, 201, "{}", pol.body);
    let bad = app
        .post(
            "/api/v1/licence-policies",
            t,
            &json!({ "name": "x", "product": "codec-ddp", "expiry": "stop", "max_boxes": 2,
                     "max_activations_per_day": 1 }),
        )
        .await;
    assert!(bad.problem(422).contains("node-locked"), "{}", bad.body);

    let l = app
        .post(
            "/api/v1/licences",
            t,
            &json!({ "policy": "ddp-yearly", "subscriber": "A-1", "entitlements": ["atmos"] }),
        )
        .await;
    assert_eq!(l.status, 201, "{}", l.body);
    let key = l.body["key"].as_str().expect("key").to_owned();
    assert!(key.starts_with("wcl_"));
    let id = l.body["id"].as_str().expect("id").to_owned();
    let shown = app.get(&format!("/api/v1/licences/{id}"), t).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.get("key").is_none(), "the key is shown once");
    assert!(!shown.body.to_string().contains(&key));

    // Five boxes of the subscriber's six are activated; the sixth is over
    // the limit; the seventh box is not the subscriber's.
    let activate = |serial: String| {
        let app = &app;
        let id = id.clone();
        async move {
            app.post(
                &format!("/api/v1/licences/{id}/activations"),
                Some(&app.admin_token),
                &json!({ "device": serial }),
            )
            .await
        }
    };
    for s in &serials[..5] {
        let a = activate((*s).to_owned()).await;
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let sixth = activate(serials[5].to_owned()).await;
    assert!(sixth.problem(409).contains("5 boxes"), "{}", sixth.body);
    let stranger = activate(serials[6].to_owned()).await;
    assert!(
        stranger.problem(422).contains("neither"),
        "{}",
        stranger.body
    );

    let scope = |device: &str, extra: Value| {
        let mut b = json!({ "key": key, "product": "codec-ddp", "device": device,
                            "entitlements": ["ddp", "atmos"], "nonce": "n-1234567890" });
        if let (Some(b), Some(extra)) = (b.as_object_mut(), extra.as_object()) {
            b.extend(extra.clone());
        }
        b
    };
    let (valid, code, nonce) = validate(&app, scope(serials[0], json!({}))).await;
    assert_eq!((valid, code.as_str()), (true, "VALID"));
    assert_eq!(nonce, "n-1234567890", "the caller's nonce is echoed");
    assert_eq!(
        validate(&app, scope(serials[5], json!({}))).await.1,
        "TOO_MANY_DEVICES"
    );
    assert_eq!(
        validate(&app, scope(serials[6], json!({}))).await.1,
        "DEVICE_MISMATCH"
    );
    assert_eq!(
        validate(
            &app,
            scope(serials[0], json!({ "product": "drm-playready-sl3000" }))
        )
        .await
        .1,
        "PRODUCT_MISMATCH"
    );
    assert_eq!(
        validate(&app, scope(serials[0], json!({ "entitlements": ["dts"] })))
            .await
            .1,
        "ENTITLEMENTS_MISSING"
    );
    assert_eq!(
        validate(
            &app,
            scope(serials[0], json!({ "key": "wcl_0000000000_nope" }))
        )
        .await
        .1,
        "NOT_FOUND"
    );
    // Deactivating one box makes room for the sixth, which is then not
    // activated until it is.
    let d = app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/licences/{id}/activations/{}", serials[4]),
            t,
            None::<&Value>,
        )
        .await;
    assert_eq!(d.status, 204, "{}", d.body);
    assert_eq!(
        validate(&app, scope(serials[5], json!({}))).await.1,
        "NOT_ACTIVATED"
    );

    // Suspension and revocation come first; a revoked licence stays so.
    let act = |action: &'static str| {
        let app = &app;
        let id = id.clone();
        async move {
            app.post(
                &format!("/api/v1/licences/{id}/{action}"),
                Some(&app.admin_token),
                &json!({}),
            )
            .await
        }
    };
    assert_eq!(act("suspend").await.status, 200);
    assert_eq!(
        validate(&app, scope(serials[0], json!({}))).await.1,
        "SUSPENDED"
    );
    assert_eq!(act("reinstate").await.status, 200);
    assert_eq!(
        validate(&app, scope(serials[0], json!({}))).await.1,
        "VALID"
    );

    // 30 days on it has expired, but is in its two days' grace; after
    // them, "keep installed" keeps it valid for use, without updates.
    app.advance(31 * 86_400);
    let v = app
        .post(
            "/api/v1/licences/validate",
            t,
            &scope(serials[0], json!({})),
        )
        .await;
    assert_eq!(
        (v.body["valid"].as_bool(), v.body["code"].as_str()),
        (Some(true), Some("VALID"))
    );
    assert!(v.body["detail"].as_str().expect("detail").contains("grace"));
    app.advance(2 * 86_400);
    let v = app
        .post(
            "/api/v1/licences/validate",
            t,
            &scope(serials[0], json!({})),
        )
        .await;
    assert_eq!(
        (
            v.body["valid"].as_bool(),
            v.body["code"].as_str(),
            v.body["updates"].as_bool()
        ),
        (Some(true), Some("EXPIRED"), Some(false))
    );

    assert_eq!(act("revoke").await.status, 200);
    assert_eq!(
        validate(&app, scope(serials[0], json!({}))).await.1,
        "REVOKED"
    );
    assert!(act("reinstate").await.problem(409).contains("revoked"));

    // A box's own licence under a node-locked policy that stops at expiry.
    let locked = app
        .post(
            "/api/v1/licence-policies",
            t,
            &json!({ "name": "drm-box", "product": "codec-ddp", "duration_days": 10,
                     "expiry": "stop", "max_boxes": 1, "max_activations_per_day": 3 }),
        )
        .await;
    assert_eq!(locked.status, 201, "{}", locked.body);
    let own = app
        .post(
            "/api/v1/licences",
            t,
            &json!({ "policy": "drm-box", "device": serials[6] }),
        )
        .await;
    assert_eq!(own.status, 201, "{}", own.body);
    let own_id = own.body["id"].as_str().expect("id");
    let a = app
        .post(
            &format!("/api/v1/licences/{own_id}/activations"),
            t,
            &json!({ "device": serials[6] }),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let by_id = |device: &str| json!({ "licence": own_id, "device": device });
    assert_eq!(validate(&app, by_id(serials[6])).await.1, "VALID");
    assert_eq!(validate(&app, by_id(serials[0])).await.1, "DEVICE_MISMATCH");
    app.advance(11 * 86_400);
    let (valid, code, _) = validate(&app, by_id(serials[6])).await;
    assert_eq!((valid, code.as_str()), (false, "EXPIRED"));

    // The audit log has every change.
    let audit = app.get("/api/v1/audit?object_type=licence", t).await;
    assert_eq!(audit.status, 200, "{}", audit.body);
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "licence.create",
        "licence.activate",
        "licence.deactivate",
        "licence.suspend",
        "licence.revoke",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

async fn concurrent_activations_never_pass_the_box_limit(app: TestApp) {
    let t = Some(app.admin_token.as_str());
    let boxes = enrol_many(&app, 50, 12, "X1", &[("x1-firmware", "4.1.0", 1)]).await;
    let serials: Vec<&str> = boxes.iter().map(|b| b.serial.as_str()).collect();
    subscriber(&app, "R-12", "basic", None, &serials, app.clock.now()).await;
    for (path, body) in [
        (
            "/api/v1/products",
            json!({ "code": "codec-ddp", "name": "Dolby Digital Plus" }),
        ),
        (
            "/api/v1/licence-policies",
            json!({ "name": "ddp-3", "product": "codec-ddp", "expiry": "stop",
                    "max_boxes": 3, "floating": true, "max_activations_per_day": 100 }),
        ),
    ] {
        assert_eq!(app.post(path, t, &body).await.status, 201, "{path}");
    }
    let l = app
        .post(
            "/api/v1/licences",
            t,
            &json!({ "policy": "ddp-3", "subscriber": "R-12" }),
        )
        .await;
    let id = l.body["id"].as_str().expect("id").to_owned();
    // Twelve boxes ask at once for three places.
    let answers = futures_util::future::join_all(serials.iter().map(|s| {
        let (app, path) = (&app, format!("/api/v1/licences/{id}/activations"));
        async move {
            app.post(&path, Some(&app.admin_token), &json!({ "device": s }))
                .await
                .status
                .as_u16()
        }
    }))
    .await;
    let granted = answers.iter().filter(|s| **s == 200).count();
    let refused = answers.iter().filter(|s| **s == 409).count();
    assert_eq!((granted, refused), (3, 9), "{answers:?}");
    let shown = app.get(&format!("/api/v1/licences/{id}"), t).await;
    assert_eq!(
        shown.body["activations"].as_array().map(Vec::len),
        Some(3),
        "{}",
        shown.body
    );
}

wavecast_e2e::both_backends!(
    a_licence_is_valid_only_where_and_while_its_policy_says,
    concurrent_activations_never_pass_the_box_limit
);
