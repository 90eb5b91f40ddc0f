//! Rollouts end to end over HTTPS: waves open in order, offers respect waves,
//! targets and requirements; failures pause; resume completes; silent devices
//! time out; late devices are offered; boxes verify every answer and can act
//! only as themselves.

use crate::rollout_support::{offered, show, wait_for};
use serde_json::{json, Value};
use wavecast_e2e::{
    fleet::{box_key, enrol_many, enrol_one},
    trust::{bundle_file, manifest, payload, Keys},
    TestApp,
};
use wavecast_protocol::{
    keyring::sign_manifest,
    manifest::{Compatibility, Kind, Requirement},
    status::InstallState,
};

/// Publishes the keyring, X1 firmware 4.1.0 and 4.2.0 and a codec pack that needs 4.2.
async fn release(app: &TestApp, keys: &Keys) {
    release_with(app, keys, 2).await;
}

async fn release_with(app: &TestApp, keys: &Keys, fw_security: u64) {
    keys.publish(app).await;
    let old_data = payload(10_000, 3);
    let mut old = manifest("x1-firmware", "4.1.0", &old_data);
    old.security_version = 1;
    let fw_data = payload(20_000, 1);
    let mut fw = manifest("x1-firmware", "4.2.0", &fw_data);
    fw.security_version = fw_security;
    let codec_data = payload(5_000, 2);
    let mut codec = manifest("codec-pack", "2.0.0", &codec_data);
    codec.kind = Kind::Codec;
    codec.requires = vec![Requirement {
        name: "x1-firmware".into(),
        version: ">=4.2.0".parse().expect("req"),
    }];
    codec.compatible = vec![Compatibility {
        model: "X1".into(),
        revisions: vec![],
    }];
    for (m, data) in [(old, old_data), (fw, fw_data), (codec, codec_data)] {
        let env = sign_manifest(&m, &keys.signer).expect("sign");
        app.upload_and_publish(
            bundle_file(&keys.keyring_env, &env, &data),
            &format!("{}@{}", m.name, m.version),
        )
        .await;
    }
}

/// How many of `boxes` a count wave of `n` (cumulative) takes in rollout
/// `id`: the `n` lowest buckets, and any box sharing the `n`-th's bucket
/// (the wave's edge is a bucket, so a tie there joins the wave).
fn count_wave(id: &str, boxes: &[wavecast_e2e::fleet::Box_], n: usize) -> usize {
    use wavecast_server::updates::rollouts::waves::bucket;
    let rollout = uuid::Uuid::parse_str(id).expect("rollout id");
    let mut buckets: Vec<u32> = boxes
        .iter()
        .map(|b| bucket(rollout, uuid::Uuid::parse_str(&b.id).expect("device id")))
        .collect();
    buckets.sort_unstable();
    let edge = buckets[n - 1];
    buckets.iter().filter(|b| **b <= edge).count()
}

async fn create(app: &TestApp, body: Value) -> Value {
    let a = app
        .post("/api/v1/rollouts", Some(&app.admin_token), &body)
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    a.body
}

const OLD: &[(&str, &str, u64)] = &[("x1-firmware", "4.1.0", 1)];

async fn waves_pause_resume_and_complete(app: TestApp) {
    let keys = Keys::new();
    release(&app, &keys).await;
    let root = keys.root.verifying_key();
    let mut x1 = enrol_many(&app, 1, 30, "X1", OLD).await;
    let x2 = enrol_many(&app, 100, 3, "X2", &[]).await;
    let r = create(
        &app,
        json!({
            "name": "firmware 4.2 with codecs",
            "bundles": ["codec-pack@2.0.0", "x1-firmware@4.2.0"],
            "target": { "models": ["X1"] },
            "waves": [
                { "count": 3, "success_threshold_pct": 100, "failure_threshold_pct": 30 },
                { "count": 15, "success_threshold_pct": 100, "failure_threshold_pct": 30 },
                { "percent": 100, "success_threshold_pct": 100, "failure_threshold_pct": 30 }
            ]
        }),
    )
    .await;
    let id = r["id"].as_str().expect("id").to_owned();
    assert_eq!(
        (r["state"].as_str(), r["open_waves"].as_u64()),
        (Some("running"), Some(1))
    );

    // Wave 1: three boxes are offered (and any box whose bucket ties with
    // the third's), firmware before the codec pack.
    let wave1 = offered(&app, &x1, &keys).await;
    assert_eq!(wave1.len(), count_wave(&id, &x1, 3), "count wave");
    let (_, first) = x1[wave1[0]].check_in(&app, &root).await;
    let names: Vec<String> = first
        .offers
        .iter()
        .map(|o| {
            wavecast_protocol::manifest::Manifest::parse(&o.manifest.payload_bytes().expect("p"))
                .expect("m")
                .name
        })
        .collect();
    assert_eq!(names, ["x1-firmware", "codec-pack"]);
    for b in &x2 {
        assert!(
            b.check_in(&app, &root).await.1.offers.is_empty(),
            "X2 is outside the target"
        );
    }
    for i in &wave1 {
        assert_eq!(x1[*i].install_all(&app, &root).await, 2);
    }
    wait_for(&app, &id, "wave 2", |r| r["open_waves"] == 2).await;

    // Wave 2: twelve more boxes; five fail, above the 30 % threshold: pause.
    let wave2: Vec<usize> = offered(&app, &x1, &keys)
        .await
        .into_iter()
        .filter(|i| !wave1.contains(i))
        .collect();
    assert_eq!(
        wave2.len(),
        count_wave(&id, &x1, 15) - wave1.len(),
        "twelve more (with ties): {wave2:?}"
    );
    // All five take their offer before any of them fails.
    let mut taken = Vec::new();
    for i in &wave2[..5] {
        let (_, p) = x1[*i].check_in(&app, &root).await;
        taken.push((*i, p.offers[0].clone()));
    }
    for (i, fw) in &taken {
        // Reports keep being accepted even once the rollout has paused.
        assert_eq!(
            x1[*i]
                .report(
                    &app,
                    &fw.rollout_id,
                    &fw.bundle_id,
                    InstallState::Downloading,
                    None
                )
                .await,
            204
        );
        assert_eq!(
            x1[*i]
                .report(
                    &app,
                    &fw.rollout_id,
                    &fw.bundle_id,
                    InstallState::Failed,
                    Some("flash-error")
                )
                .await,
            204
        );
    }
    let paused = wait_for(&app, &id, "the pause", |r| r["state"] == "paused").await;
    assert!(
        paused["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("failure threshold"),
        "{paused}"
    );
    // While paused, nobody new is offered anything.
    assert!(x1[wave2[6]].check_in(&app, &root).await.1.offers.is_empty());

    // Resume: the failures are acknowledged; the rest of wave 2 installs.
    let resumed = app
        .post(
            &format!("/api/v1/rollouts/{id}/resume"),
            Some(&app.admin_token),
            &json!({}),
        )
        .await;
    assert_eq!(resumed.body["state"], "running", "{}", resumed.body);
    for i in &wave2[5..] {
        assert_eq!(x1[*i].install_all(&app, &root).await, 2);
    }
    // A failed box is not offered the same bundle again in this rollout.
    let (_, again) = x1[wave2[0]].check_in(&app, &root).await;
    assert!(again
        .offers
        .iter()
        .all(|o| o.bundle_id != first.offers[0].bundle_id));
    wait_for(&app, &id, "wave 3", |r| r["open_waves"] == 3).await;
    let rest: Vec<usize> = (0..x1.len())
        .filter(|i| !wave1.contains(i) && !wave2.contains(i))
        .collect();
    for i in &rest {
        assert_eq!(x1[*i].install_all(&app, &root).await, 2);
    }
    let done = wait_for(&app, &id, "completion", |r| r["state"] == "completed").await;
    assert_eq!(done["counts"]["failed"], 5);

    // A box enrolled after the rollout finished is still offered the update.
    assert_eq!(app.import_serials("SN-LATE,X1\n").await.status, 200);
    let late = enrol_one(&app, "SN-LATE", "X1", box_key(999), OLD).await;
    assert_eq!(late.check_in(&app, &root).await.1.offers.len(), 2);

    // Every transition is in the audit log.
    let audit = app
        .get(
            &format!("/api/v1/audit?object_id={id}&limit=50"),
            Some(&app.admin_token),
        )
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "rollout.create",
        "rollout.wave.open",
        "rollout.paused",
        "rollout.resume",
        "rollout.completed",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
}

async fn silent_devices_time_out_into_failure(app: TestApp) {
    let keys = Keys::new();
    release(&app, &keys).await;
    let root = keys.root.verifying_key();
    let boxes = enrol_many(&app, 200, 2, "X1", OLD).await;
    let r = create(
        &app,
        json!({
            "name": "timeouts",
            "bundles": ["x1-firmware@4.2.0"],
            "waves": [{ "percent": 100, "failure_threshold_pct": 100 }],
            "device_timeout_secs": 600
        }),
    )
    .await;
    let id = r["id"].as_str().expect("id").to_owned();
    let o = boxes[0].begin_first(&app, &root).await;
    // The box goes silent; once the timeout has passed on the server's
    // clock, the scheduler counts it failed.
    app.run_job("scheduler").await;
    assert_eq!(show(&app, &id).await["counts"]["failed"], 0, "not yet");
    app.advance(601);
    let v = wait_for(&app, &id, "the timeout", |r| r["counts"]["failed"] == 1).await;
    assert_eq!(v["counts"]["reported"], 1);
    // A late report cannot revive the attempt.
    let late = boxes[0]
        .report(
            &app,
            &o.rollout_id,
            &o.bundle_id,
            InstallState::Succeeded,
            None,
        )
        .await;
    assert_eq!(late, 409);
}

async fn reports_are_checked_and_boxes_act_only_as_themselves(app: TestApp) {
    let keys = Keys::new();
    release(&app, &keys).await;
    let root = keys.root.verifying_key();
    let boxes = enrol_many(&app, 300, 2, "X1", OLD).await;
    let outsider = enrol_many(&app, 400, 1, "X2", &[]).await.remove(0);
    create(
        &app,
        json!({ "name": "all", "bundles": ["x1-firmware@4.2.0"], "waves": [{ "percent": 100 }] }),
    )
    .await;
    let (answer, p) = boxes[0].check_in(&app, &root).await;
    let o = &p.offers[0];
    // The answer was made for box 0 and its nonce: box 1 (or a replay) refuses it.
    let kr = wavecast_protocol::keyring::verify_keyring(
        &root,
        answer
            .keyring
            .as_ref()
            .expect("a first check-in gets the keyring"),
        chrono::Utc::now().timestamp(),
        0,
    )
    .expect("kr");
    assert!(
        answer.batch.is_some(),
        "the agent asks for batch-signed answers"
    );
    let now = chrono::Utc::now().timestamp();
    let verify = |device: &str, nonce: &str| {
        wavecast_protocol::checkin::verify_checkin(&kr, &answer, device, nonce, now, 300)
    };
    verify(&boxes[0].id, &p.nonce).expect("box 0's own answer verifies");
    assert!(verify(&boxes[1].id, &p.nonce).is_err());
    assert!(verify(&boxes[0].id, "another-nonce-123456").is_err());
    // The box holds the keyring now: the next answer leaves it out.
    let (again, _) = boxes[0].check_in(&app, &root).await;
    assert!(again.keyring.is_none(), "the keyring is not sent again");
    // An agent of the first protocol version names no keyring and knows no
    // batch proofs: it still gets the keyring and a directly signed answer.
    let old_agent = app
        .post(
            "/api/v1/device/check-in",
            Some(&boxes[0].credential),
            &json!({ "nonce": "old-agent-nonce-0001", "installed": [] }),
        )
        .await;
    assert_eq!(old_agent.status, 200, "{}", old_agent.body);
    assert!(old_agent.body.get("batch").is_none(), "{}", old_agent.body);
    let old: wavecast_protocol::checkin::CheckinAnswer =
        serde_json::from_value(old_agent.body).expect("an answer");
    wavecast_protocol::checkin::verify_answer(
        &kr,
        &old.answer,
        &boxes[0].id,
        "old-agent-nonce-0001",
        now,
        300,
    )
    .expect("directly signed");
    assert!(old.keyring.is_some());
    // A box outside the target cannot report on the offer made to box 0.
    assert_eq!(
        outsider
            .report(
                &app,
                &o.rollout_id,
                &o.bundle_id,
                InstallState::Succeeded,
                None
            )
            .await,
        404
    );
    // Repeats and out-of-order reports are accepted and change nothing; impossible ones are refused.
    let b = &boxes[0];
    assert_eq!(
        b.report(
            &app,
            &o.rollout_id,
            &o.bundle_id,
            InstallState::Installing,
            None
        )
        .await,
        204
    );
    assert_eq!(
        b.report(
            &app,
            &o.rollout_id,
            &o.bundle_id,
            InstallState::Installing,
            None
        )
        .await,
        204
    );
    assert_eq!(
        b.report(
            &app,
            &o.rollout_id,
            &o.bundle_id,
            InstallState::Downloading,
            None
        )
        .await,
        204
    );
    assert_eq!(
        b.report(
            &app,
            &o.rollout_id,
            &o.bundle_id,
            InstallState::Succeeded,
            None
        )
        .await,
        204
    );
    assert_eq!(
        b.report(
            &app,
            &o.rollout_id,
            &o.bundle_id,
            InstallState::Failed,
            None
        )
        .await,
        409
    );
    // Malformed reports are problems, not panics.
    let bad = app
        .post(
            "/api/v1/device/status",
            Some(&b.credential),
            &json!({ "rollout_id": "x", "bundle_id": "y", "state": "succeeded" }),
        )
        .await;
    bad.problem(422);
    let bad = app
        .post(
            "/api/v1/device/status",
            Some(&b.credential),
            &json!({ "rollout_id": o.rollout_id, "bundle_id": o.bundle_id, "state": "exploded" }),
        )
        .await;
    bad.problem(422);
    let short = app
        .post(
            "/api/v1/device/check-in",
            Some(&b.credential),
            &json!({ "nonce": "x", "installed": [] }),
        )
        .await;
    short.problem(422);
}

async fn rollout_validation_and_roles(app: TestApp) {
    let keys = Keys::new();
    release(&app, &keys).await;
    let admin = Some(app.admin_token.as_str());
    let bad = |body: Value| {
        let app = &app;
        async move { app.post("/api/v1/rollouts", admin, &body).await }
    };
    bad(json!({ "name": "x", "bundles": [], "waves": [{ "percent": 100 }] }))
        .await
        .problem(422);
    bad(json!({ "name": "x", "bundles": ["x1-firmware@4.2.0"], "waves": [] }))
        .await
        .problem(422);
    bad(json!({ "name": "x", "bundles": ["x1-firmware@4.2.0"], "waves": [{ "percent": 50 }, { "percent": 20 }] }))
        .await
        .problem(422);
    bad(json!({ "name": "x", "bundles": ["nope@1.0.0"], "waves": [{ "percent": 100 }] }))
        .await
        .problem(422);
    let viewer = app.user_with_role("vr", "viewer").await;
    app.post(
        "/api/v1/rollouts",
        Some(&viewer),
        &json!({ "name": "x", "bundles": ["x1-firmware@4.2.0"], "waves": [{ "percent": 100 }] }),
    )
    .await
    .problem(403);
    let r = create(&app, json!({ "name": "ok", "bundles": ["x1-firmware@4.2.0"], "waves": [{ "percent": 100 }], "starts_at": "2099-01-01T00:00:00Z" })).await;
    assert_eq!(r["state"], "scheduled");
    let id = r["id"].as_str().expect("id");
    app.post(&format!("/api/v1/rollouts/{id}/resume"), admin, &json!({}))
        .await
        .problem(409);
    let aborted = app
        .post(&format!("/api/v1/rollouts/{id}/abort"), admin, &json!({}))
        .await;
    assert_eq!(aborted.body["state"], "aborted");
    app.post(&format!("/api/v1/rollouts/{id}/pause"), admin, &json!({}))
        .await
        .problem(409);
}

async fn maintenance_windows_follow_the_box_clock(app: TestApp) {
    let keys = Keys::new();
    release(&app, &keys).await;
    let root = keys.root.verifying_key();
    let mut boxes = enrol_many(&app, 500, 2, "X1", OLD).await;
    // A one-hour window around "now" in Kolkata (UTC+05:30, no daylight saving),
    // which is shut for a box on UTC.
    let kolkata = chrono::Utc::now() + chrono::TimeDelta::minutes(330);
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%H:%M").to_string();
    let window = json!({
        "start": fmt(kolkata - chrono::TimeDelta::minutes(30)),
        "end": fmt(kolkata + chrono::TimeDelta::minutes(30)),
    });
    let r = create(&app, json!({
        "name": "night window", "bundles": ["x1-firmware@4.2.0"], "waves": [{ "percent": 100 }], "window": window,
    }))
    .await;
    assert_eq!(r["window"], window);
    boxes[1].timezone = Some("Asia/Kolkata".into());
    assert!(
        boxes[0].check_in(&app, &root).await.1.offers.is_empty(),
        "outside its window on UTC"
    );
    assert_eq!(
        boxes[1].check_in(&app, &root).await.1.offers.len(),
        1,
        "inside its window in Kolkata"
    );
    let bad = app
        .post(
            "/api/v1/rollouts",
            Some(&app.admin_token),
            &json!({
                "name": "x", "bundles": ["x1-firmware@4.2.0"], "waves": [{ "percent": 100 }],
                "window": { "start": "25:00", "end": "03:00" },
            }),
        )
        .await;
    bad.problem(422);
}

async fn download_limit_holds_back_new_boxes(app: TestApp) {
    let keys = Keys::new();
    release(&app, &keys).await;
    let root = keys.root.verifying_key();
    let mut boxes = enrol_many(&app, 600, 2, "X1", OLD).await;
    create(&app, json!({
        "name": "one at a time", "bundles": ["x1-firmware@4.2.0"], "waves": [{ "percent": 100 }],
        "max_concurrent_downloads": 1,
    }))
    .await;
    let o = boxes[0].begin_first(&app, &root).await;
    assert!(
        boxes[1].check_in(&app, &root).await.1.offers.is_empty(),
        "the limit is reached"
    );
    // The downloading box is never held back by its own download.
    assert_eq!(boxes[0].check_in(&app, &root).await.1.offers.len(), 1);
    assert_eq!(
        boxes[0]
            .report(
                &app,
                &o.rollout_id,
                &o.bundle_id,
                InstallState::Installing,
                None
            )
            .await,
        204
    );
    assert_eq!(
        boxes[1].install_all(&app, &root).await,
        1,
        "a slot is free again"
    );
}

async fn rollback_offers_the_previous_version_above_the_security_floor(app: TestApp) {
    let keys = Keys::new();
    release_with(&app, &keys, 1).await;
    let root = keys.root.verifying_key();
    let mut boxes = enrol_many(&app, 700, 3, "X1", OLD).await;
    let r = create(
        &app,
        json!({ "name": "4.2", "bundles": ["x1-firmware@4.2.0"], "waves": [{ "percent": 100 }] }),
    )
    .await;
    let id = r["id"].as_str().expect("id").to_owned();
    for b in boxes.iter_mut().take(2) {
        assert_eq!(b.install_all(&app, &root).await, 1);
    }
    // Box 1 has since taken a security fix: its floor is above 4.1.0's.
    boxes[1].installed[0].security_version = 5;
    let rb = app
        .post(
            &format!("/api/v1/rollouts/{id}/rollback"),
            Some(&app.admin_token),
            &json!({}),
        )
        .await;
    assert_eq!(rb.status, 201, "{}", rb.body);
    assert_eq!(rb.body["bundles"], json!(["x1-firmware@4.1.0"]));
    assert_eq!(rb.body["allow_downgrade"], true);
    assert_eq!(rb.body["rollback_of"], json!(id));
    assert_eq!(show(&app, &id).await["state"], "aborted");
    let (_, p0) = boxes[0].check_in(&app, &root).await;
    assert_eq!(
        p0.offers.len(),
        1,
        "the box that took 4.2.0 is offered 4.1.0"
    );
    assert!(p0.offers[0].allow_downgrade);
    assert!(
        boxes[1].check_in(&app, &root).await.1.offers.is_empty(),
        "never below the security floor"
    );
    assert!(
        boxes[2].check_in(&app, &root).await.1.offers.is_empty(),
        "it never took 4.2.0"
    );
}

async fn a_revoked_bundle_is_offered_no_more(app: TestApp) {
    let keys = Keys::new();
    release(&app, &keys).await;
    let root = keys.root.verifying_key();
    let boxes = enrol_many(&app, 800, 1, "X1", OLD).await;
    create(
        &app,
        json!({
            "name": "fw and codec", "bundles": ["x1-firmware@4.2.0", "codec-pack@2.0.0"],
            "waves": [{ "percent": 100 }],
        }),
    )
    .await;
    let (_, before) = boxes[0].check_in(&app, &root).await;
    assert_eq!(before.offers.len(), 2, "firmware, then the codec pack");
    let revoke = app
        .post(
            "/api/v1/bundles/x1-firmware@4.2.0/revoke",
            Some(&app.admin_token),
            &json!({ "reason": "boot loop on some X1" }),
        )
        .await;
    assert_eq!(revoke.status, 200, "{}", revoke.body);
    let (_, after) = boxes[0].check_in(&app, &root).await;
    assert!(
        after.offers.is_empty(),
        "neither the revoked firmware nor the codec pack that needs it: {:?}",
        after
            .offers
            .iter()
            .map(|o| &o.bundle_id)
            .collect::<Vec<_>>()
    );
}

/// Boxes that never check in hold a rollout only as long as it says: it
/// says why it waits, then completes with them counted as not reached; a
/// rollout that does not keep offering leaves a latecomer alone.
async fn silent_boxes_count_as_not_reached(app: TestApp) {
    let keys = Keys::new();
    release(&app, &keys).await;
    let root = keys.root.verifying_key();
    let mut x1 = enrol_many(&app, 1, 10, "X1", OLD).await;
    let r = create(
        &app,
        json!({
            "name": "firmware 4.2",
            "bundles": ["x1-firmware@4.2.0"],
            "target": { "models": ["X1"] },
            "waves": [{ "percent": 100 }],
            "unreached_after_secs": 3600,
            "keep_offering": false
        }),
    )
    .await;
    let id = r["id"].as_str().expect("id").to_owned();
    assert_eq!(r["progress"]["target_size"], 10, "{r}");
    assert_eq!(r["progress"]["not_heard_from"], 10, "{r}");
    for b in &mut x1[3..] {
        assert_eq!(b.install_all(&app, &root).await, 1);
    }
    app.run_job("scheduler").await;
    let r = show(&app, &id).await;
    assert_eq!(
        r["state"], "running",
        "7 of 10 is below the 95 % to complete"
    );
    let p = &r["progress"];
    assert_eq!(p["waiting"]["reason"], "not_heard_from", "{r}");
    assert_eq!(p["waiting"]["boxes"], 3, "{r}");
    assert!(p["waiting"]["until"].is_string(), "{r}");
    let why = p["waiting_reason"].as_str().expect("a reason");
    assert!(
        why.contains("3 box(es) not heard from") && why.contains("not reached from"),
        "{why}"
    );
    let w = &p["waves"][0];
    assert_eq!(
        (
            &w["targeted"],
            &w["succeeded"],
            &w["not_heard_from"],
            &w["not_reached"]
        ),
        (&json!(10), &json!(7), &json!(3), &json!(0)),
        "{r}"
    );

    app.advance(3600);
    let r = wait_for(&app, &id, "completion", |r| r["state"] == "completed").await;
    let p = &r["progress"];
    assert_eq!(p["not_reached"], 3, "{r}");
    assert_eq!(p["waves"][0]["not_reached"], 3, "{r}");
    assert_eq!(p["waves"][0]["not_heard_from"], 0, "{r}");
    assert!(p["waiting"].is_null(), "{r}");
    // It does not keep offering: a latecomer is offered nothing.
    let (_, late) = x1[0].check_in(&app, &root).await;
    assert!(late.offers.is_empty(), "{:?}", late.offers);
}

/// Before it completes, an operator sees why a rollout waits: the soak, an
/// approval, and the health gate's figures as fields.
async fn a_rollout_says_what_it_waits_for(app: TestApp) {
    let keys = Keys::new();
    release(&app, &keys).await;
    let root = keys.root.verifying_key();
    let mut x1 = enrol_many(&app, 1, 4, "X1", OLD).await;
    let r = create(
        &app,
        json!({
            "name": "firmware 4.2",
            "bundles": ["x1-firmware@4.2.0"],
            "target": { "models": ["X1"] },
            "waves": [
                { "count": 2, "soak_secs": 600, "needs_approval": true },
                { "percent": 100 }
            ],
            "health_gate": { "max_ratio": 2.0, "min_device_days": 1.0 }
        }),
    )
    .await;
    let id = r["id"].as_str().expect("id").to_owned();
    let p = &r["progress"];
    assert_eq!(p["waves"].as_array().map(Vec::len), Some(2), "{r}");
    assert_eq!(p["waves"][0]["targeted"], 2, "{r}");
    assert_eq!(p["waves"][1]["targeted"], 2, "the wave to come: {r}");
    assert_eq!(p["waves"][1]["open"], false, "{r}");
    assert!(p["soak_ends_at"].is_string(), "{r}");
    assert_eq!(p["waiting"]["reason"], "soak", "{r}");
    assert_eq!(p["gate"]["verdict"], "too_early", "{r}");
    assert!(p["gate"]["updated"]["device_days"].is_number(), "{r}");
    assert_eq!(p["gate"]["max_ratio"], 2.0, "{r}");
    for i in offered(&app, &x1, &keys).await {
        x1[i].install_all(&app, &root).await;
    }
    app.advance(600);
    let r = wait_for(&app, &id, "approval", |r| r["state"] == "awaiting_approval").await;
    assert_eq!(r["progress"]["waiting"]["reason"], "approval", "{r}");
    assert!(
        r["progress"]["waiting_reason"]
            .as_str()
            .is_some_and(|w| w.contains("approve")),
        "{r}"
    );
}

/// A rollout created before any box of its target exists waits for one:
/// its canary is cut from the boxes there when it opens, not from an
/// empty fleet (which would have put every later box in it).
async fn a_rollout_waits_for_its_target_before_its_canary(app: TestApp) {
    let keys = Keys::new();
    release(&app, &keys).await;
    let r = create(
        &app,
        json!({
            "name": "firmware 4.2",
            "bundles": ["x1-firmware@4.2.0"],
            "target": { "models": ["X1"] },
            "waves": [{ "count": 2 }, { "percent": 100 }]
        }),
    )
    .await;
    let id = r["id"].as_str().expect("id").to_owned();
    assert_eq!(r["state"], "scheduled", "{r}");
    assert_eq!(r["progress"]["waiting"]["reason"], "no_target", "{r}");
    // Ten boxes enrol and wait for an operator; one import accepts them
    // all at once, so the scheduler sees the whole target at its next pass.
    let mut csv = String::new();
    for i in 0..10u8 {
        let serial = format!("LATE{i:02}");
        let env = crate::devices::claim(&serial, &wavecast_e2e::trust::key(100 + i), 0);
        assert_eq!(crate::devices::enrol(&app, &env).await.status, 202);
        csv.push_str(&format!("{serial},X1\n"));
    }
    app.run_job("scheduler").await;
    assert_eq!(
        show(&app, &id).await["state"],
        "scheduled",
        "pending boxes are not the target"
    );
    assert_eq!(app.import_serials(&csv).await.status, 200);
    let r = wait_for(&app, &id, "the first wave", |r| r["state"] == "running").await;
    assert_eq!(r["progress"]["target_size"], 10, "{r}");
    assert_eq!(
        r["progress"]["waves"][0]["targeted"], 2,
        "a canary of two: {r}"
    );
}

wavecast_e2e::both_backends!(
    configure = wavecast_e2e::trust::server_signs;
    a_rollout_waits_for_its_target_before_its_canary,
    silent_boxes_count_as_not_reached,
    a_rollout_says_what_it_waits_for,
    maintenance_windows_follow_the_box_clock,
    download_limit_holds_back_new_boxes,
    rollback_offers_the_previous_version_above_the_security_floor,
    a_revoked_bundle_is_offered_no_more,
    waves_pause_resume_and_complete,
    silent_devices_time_out_into_failure,
    reports_are_checked_and_boxes_act_only_as_themselves,
    rollout_validation_and_roles,
);
