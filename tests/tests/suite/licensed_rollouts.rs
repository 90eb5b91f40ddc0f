//! Rollouts honour licences: a bundle naming a licensed product is offered
//! only to boxes holding a valid licence for it, activated on the first
//! offer while the policy's box limit holds; a free bundle in the same
//! rollout reaches every box; a suspended licence stops the offers at the
//! box's next check-in; boxes not entitled to a licensed rollout are
//! counted apart and not waited for.

use std::collections::BTreeSet;

use serde_json::json;
use wavecast_e2e::{
    fleet::{enrol_many, Box_},
    support::subscriber,
    trust::{bundle_file, manifest, payload, Keys},
    TestApp,
};
use wavecast_protocol::{keyring::sign_manifest, manifest::Kind};

/// A codec pack bundle, licensed when `product` is given.
fn codec(keys: &Keys, name: &str, product: Option<&str>) -> Vec<u8> {
    let data = payload(2048, 7);
    let mut m = manifest(name, "1.0.0", &data);
    m.kind = Kind::Codec;
    m.licensed_product = product.map(Into::into);
    let env = sign_manifest(&m, &keys.signer).expect("sign");
    bundle_file(&keys.keyring_env, &env, &data)
}

/// The ids of the bundles each box is offered at one check-in.
async fn offered(app: &TestApp, keys: &Keys, boxes: &[Box_]) -> Vec<BTreeSet<String>> {
    let root = keys.root.verifying_key();
    let mut out = Vec::new();
    for b in boxes {
        let (_, p) = b.check_in(app, &root).await;
        out.push(p.offers.iter().map(|o| o.bundle_id.clone()).collect());
    }
    out
}

async fn licensed_bundles_reach_only_entitled_boxes(app: TestApp) {
    let t = Some(app.admin_token.as_str());
    let keys = Keys::new();
    keys.publish(&app).await;
    let mut ids = Vec::new();
    for (name, product) in [("codec-free", None), ("codec-ddp-pack", Some("codec-ddp"))] {
        let up = app.upload(codec(&keys, name, product)).await;
        assert_eq!(up.status, 201, "{}", up.body);
        let id = up.body["id"].as_str().expect("id").to_owned();
        let p = app
            .post(&format!("/api/v1/bundles/{id}/publish"), t, &json!({}))
            .await;
        assert_eq!(p.status, 200, "{}", p.body);
        ids.push(id);
    }
    let (free, licensed) = (ids[0].clone(), ids[1].clone());
    let boxes = enrol_many(&app, 100, 40, "X1", &[("x1-firmware", "4.1.0", 1)]).await;
    let serials: Vec<&str> = boxes.iter().map(|b| b.serial.as_str()).collect();
    // Ten boxes of one subscriber hold a licence for ten; eight of
    // another's share one for five.
    subscriber(&app, "A-10", "basic", None, &serials[..10], app.clock.now()).await;
    subscriber(
        &app,
        "B-8",
        "basic",
        None,
        &serials[10..18],
        app.clock.now(),
    )
    .await;
    let product = app
        .post(
            "/api/v1/products",
            t,
            &json!({ "code": "codec-ddp", "name": "Dolby Digital Plus" }),
        )
        .await;
    assert_eq!(product.status, 201, "{}", product.body);
    for (name, max) in [("ddp-10", 10), ("ddp-5", 5)] {
        let p = app
            .post(
                "/api/v1/licence-policies",
                t,
                &json!({ "name": name, "product": "codec-ddp", "expiry": "stop",
                         "max_boxes": max, "floating": true, "max_activations_per_day": 50 }),
            )
            .await;
        assert_eq!(p.status, 201, "{}", p.body);
    }
    let mut licences = Vec::new();
    for (policy, holder) in [("ddp-10", "A-10"), ("ddp-5", "B-8")] {
        let l = app
            .post(
                "/api/v1/licences",
                t,
                &json!({ "policy": policy, "subscriber": holder }),
            )
            .await;
        assert_eq!(l.status, 201, "{}", l.body);
        licences.push((
            l.body["id"].as_str().expect("id").to_owned(),
            l.body["key"].as_str().expect("key").to_owned(),
        ));
    }
    app.roll_out_to_all(&["codec-free@1.0.0", "codec-ddp-pack@1.0.0"])
        .await;

    let seen = offered(&app, &keys, &boxes).await;
    assert!(
        seen.iter().all(|o| o.contains(&free)),
        "the free pack reaches every box"
    );
    let got: Vec<usize> = (0..40).filter(|i| seen[*i].contains(&licensed)).collect();
    // All ten of A's, the first five of B's (the limit), none of the rest.
    assert_eq!(
        got,
        (0..15).collect::<Vec<_>>(),
        "licensed pack offered to {got:?}"
    );

    // B's five hold activations; the three others are over the limit.
    let codes: Vec<String> = futures_util::future::join_all(serials[10..18].iter().map(|s| {
        let app = &app;
        let key = licences[1].1.clone();
        async move {
            let v = app
                .post(
                    "/api/v1/licences/validate",
                    Some(&app.admin_token),
                    &json!({ "key": key, "product": "codec-ddp", "device": s }),
                )
                .await;
            v.body["code"].as_str().expect("code").to_owned()
        }
    }))
    .await;
    assert_eq!(
        codes,
        [vec!["VALID"; 5], vec!["TOO_MANY_DEVICES"; 3]].concat(),
        "{codes:?}"
    );
    // A box asks about itself over its own credential.
    for (i, code) in [
        (0, "VALID"),
        (12, "VALID"),
        (15, "TOO_MANY_DEVICES"),
        (30, "NOT_FOUND"),
    ] {
        let v = app
            .post(
                "/api/v1/device/licences/validate",
                Some(&boxes[i].credential),
                &json!({ "product": "codec-ddp", "nonce": "box-nonce-1" }),
            )
            .await;
        assert_eq!(v.body["code"], code, "box {i}: {}", v.body);
        assert_eq!(v.body["nonce"], "box-nonce-1");
    }
    let shown = app
        .get(&format!("/api/v1/licences/{}", licences[1].0), t)
        .await;
    assert_eq!(shown.body["activations"].as_array().map(Vec::len), Some(5));

    // Suspended, A's licence stops the offers at the next check-in.
    let s = app
        .post(
            &format!("/api/v1/licences/{}/suspend", licences[0].0),
            t,
            &json!({}),
        )
        .await;
    assert_eq!(s.status, 200, "{}", s.body);
    let seen = offered(&app, &keys, &boxes[..10]).await;
    assert!(
        seen.iter()
            .all(|o| o.contains(&free) && !o.contains(&licensed)),
        "{seen:?}"
    );
}

async fn boxes_not_entitled_are_counted_apart_and_the_rollout_completes(app: TestApp) {
    let t = Some(app.admin_token.as_str());
    let keys = Keys::new();
    keys.publish(&app).await;
    let up = app
        .upload(codec(&keys, "codec-ddp-pack", Some("codec-ddp")))
        .await;
    assert_eq!(up.status, 201, "{}", up.body);
    let bundle = up.body["id"].as_str().expect("id").to_owned();
    let p = app
        .post(&format!("/api/v1/bundles/{bundle}/publish"), t, &json!({}))
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let mut boxes = enrol_many(&app, 500, 6, "X1", &[("x1-firmware", "4.1.0", 1)]).await;
    let serials: Vec<&str> = boxes.iter().map(|b| b.serial.as_str()).collect();
    subscriber(&app, "C-2", "basic", None, &serials[..2], app.clock.now()).await;
    for (path, body) in [
        (
            "/api/v1/products",
            json!({ "code": "codec-ddp", "name": "Dolby Digital Plus" }),
        ),
        (
            "/api/v1/licence-policies",
            json!({ "name": "ddp-2", "product": "codec-ddp", "expiry": "stop",
                    "max_boxes": 2, "floating": true, "max_activations_per_day": 5 }),
        ),
        (
            "/api/v1/licences",
            json!({ "policy": "ddp-2", "subscriber": "C-2" }),
        ),
    ] {
        let r = app.post(path, t, &body).await;
        assert_eq!(r.status, 201, "{path}: {}", r.body);
    }
    let id = app.roll_out_to_all(&["codec-ddp-pack@1.0.0"]).await;
    let progress = || {
        let (app, path) = (&app, format!("/api/v1/rollouts/{id}"));
        async move { app.get(&path, Some(&app.admin_token)).await.body }
    };
    let r = progress().await;
    assert_eq!(r["progress"]["target_size"], 6, "{r}");
    assert_eq!(r["progress"]["not_entitled"], 4, "{r}");
    assert_eq!(r["progress"]["waves"][0]["not_entitled"], 4, "{r}");
    // The two entitled boxes install it; the four others are never
    // offered it, and the wave does not wait for them.
    let root = keys.root.verifying_key();
    for (i, b) in boxes.iter_mut().enumerate() {
        let n = b.install_all(&app, &root).await;
        assert_eq!(n, usize::from(i < 2), "box {i}");
    }
    app.run_job("scheduler").await;
    let r = progress().await;
    assert_eq!(r["state"], "completed", "{r}");
    assert_eq!(r["progress"]["waves"][0]["succeeded"], 2, "{r}");
    assert_eq!(r["progress"]["not_entitled"], 4, "{r}");
}

async fn targets_pick_boxes_by_plan_and_by_entitlement(app: TestApp) {
    let t = Some(app.admin_token.as_str());
    let keys = Keys::new();
    keys.publish(&app).await;
    let mut ids = Vec::new();
    for name in ["codec-vip", "codec-for-ddp"] {
        let up = app.upload(codec(&keys, name, None)).await;
        assert_eq!(up.status, 201, "{}", up.body);
        let id = up.body["id"].as_str().expect("id").to_owned();
        let p = app
            .post(&format!("/api/v1/bundles/{id}/publish"), t, &json!({}))
            .await;
        assert_eq!(p.status, 200, "{}", p.body);
        ids.push(id);
    }
    let boxes = enrol_many(&app, 600, 6, "X1", &[("x1-firmware", "4.1.0", 1)]).await;
    let serials: Vec<&str> = boxes.iter().map(|b| b.serial.as_str()).collect();
    subscriber(&app, "V-1", "vip", None, &serials[..2], app.clock.now()).await;
    subscriber(&app, "B-1", "basic", None, &serials[2..4], app.clock.now()).await;
    for (path, body) in [
        (
            "/api/v1/products",
            json!({ "code": "codec-ddp", "name": "Dolby Digital Plus" }),
        ),
        (
            "/api/v1/licence-policies",
            json!({ "name": "ddp-5", "product": "codec-ddp", "expiry": "stop",
                    "max_boxes": 5, "floating": true, "max_activations_per_day": 5 }),
        ),
        (
            "/api/v1/licences",
            json!({ "policy": "ddp-5", "subscriber": "B-1" }),
        ),
    ] {
        let r = app.post(path, t, &body).await;
        assert_eq!(r.status, 201, "{path}: {}", r.body);
    }
    let preview = |target: serde_json::Value| {
        let app = &app;
        async move {
            let r = app
                .post(
                    "/api/v1/rollouts/preview",
                    Some(&app.admin_token),
                    &json!({ "target": target }),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.body);
            r.body["matching"].as_u64().expect("matching")
        }
    };
    assert_eq!(preview(json!({ "plans": ["vip"] })).await, 2);
    assert_eq!(preview(json!({ "plans": ["vip", "basic"] })).await, 4);
    assert_eq!(preview(json!({ "entitled_to": "codec-ddp" })).await, 2);
    for (bad, why) in [
        (json!({ "plans": ["gold"] }), "no plan"),
        (json!({ "entitled_to": "codec-nope" }), "no product"),
    ] {
        let r = app
            .post(
                "/api/v1/rollouts",
                t,
                &json!({ "name": "bad", "bundles": ["codec-vip@1.0.0"],
                         "waves": [{ "percent": 100 }], "target": bad }),
            )
            .await;
        assert!(r.problem(422).contains(why), "{}", r.body);
    }
    for (bundle, target) in [
        ("codec-vip@1.0.0", json!({ "plans": ["vip"] })),
        ("codec-for-ddp@1.0.0", json!({ "entitled_to": "codec-ddp" })),
    ] {
        let r = app
            .post(
                "/api/v1/rollouts",
                t,
                &json!({ "name": bundle, "bundles": [bundle],
                         "waves": [{ "percent": 100 }], "target": target }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["progress"]["target_size"], 2, "{}", r.body);
    }
    let seen = offered(&app, &keys, &boxes).await;
    let expect = |i: usize| -> BTreeSet<String> {
        match i {
            0 | 1 => [ids[0].clone()].into(),
            2 | 3 => [ids[1].clone()].into(),
            _ => BTreeSet::new(),
        }
    };
    for (i, got) in seen.iter().enumerate() {
        assert_eq!(*got, expect(i), "box {i}");
    }
    // Targeting by entitlement activates nothing: the licence is for the
    // licensed pack, not for the free one.
    let held = app.get("/api/v1/licences?subscriber=B-1", t).await;
    assert_eq!(held.status, 200, "{}", held.body);
    let activations = held.body[0]["activations"].as_array().map(Vec::len);
    assert_eq!(activations, Some(0), "{}", held.body);
}

wavecast_e2e::both_backends!(
    configure = wavecast_e2e::trust::server_signs;
    licensed_bundles_reach_only_entitled_boxes,
    boxes_not_entitled_are_counted_apart_and_the_rollout_completes,
    targets_pick_boxes_by_plan_and_by_entitlement
);
