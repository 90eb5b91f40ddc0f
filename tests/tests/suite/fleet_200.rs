//! The rollout scenario at fleet scale: 200 boxes of two models driven by the
//! agent library's client, a firmware per model plus a codec pack that needs
//! the new X1 firmware, three waves (10 %, 50 %, 100 %).

use crate::rollout_support::{offered, wait_for};
use serde_json::json;
use wavecast_e2e::{
    fleet::{box_key, enrol_many, enrol_one, Box_},
    trust::{bundle_file, manifest, payload, Keys},
    TestApp,
};
use wavecast_protocol::{
    keyring::sign_manifest,
    manifest::{Compatibility, Kind, Requirement},
    status::InstallState,
};

async fn publish(app: &TestApp, keys: &Keys) {
    keys.publish(app).await;
    let mut specs = Vec::new();
    for (model, seed) in [("X1", 1u8), ("X2", 2)] {
        let data = payload(8_000, seed);
        let mut m = manifest(
            &format!("{}-firmware", model.to_lowercase()),
            "4.2.0",
            &data,
        );
        m.compatible = vec![Compatibility {
            model: model.into(),
            revisions: vec![],
        }];
        specs.push((m, data));
    }
    let data = payload(3_000, 3);
    let mut codec = manifest("codec-pack", "2.0.0", &data);
    codec.kind = Kind::Codec;
    codec.requires = vec![Requirement {
        name: "x1-firmware".into(),
        version: ">=4.2.0".parse().expect("req"),
    }];
    specs.push((codec, data));
    for (m, data) in specs {
        let env = sign_manifest(&m, &keys.signer).expect("sign");
        app.upload_and_publish(
            bundle_file(&keys.keyring_env, &env, &data),
            &format!("{}@{}", m.name, m.version),
        )
        .await;
    }
}

async fn two_hundred_boxes_in_three_waves(app: TestApp) {
    let keys = Keys::new();
    publish(&app, &keys).await;
    let root = keys.root.verifying_key();
    let mut fleet = enrol_many(&app, 10_000, 140, "X1", &[("x1-firmware", "4.1.0", 1)]).await;
    fleet.extend(enrol_many(&app, 20_000, 60, "X2", &[("x2-firmware", "4.1.0", 1)]).await);
    assert_eq!(fleet.len(), 200);
    // Ten boxes sit in Kolkata, where the night window is shut right now.
    for b in fleet.iter_mut().skip(5).step_by(20) {
        b.timezone = Some("Asia/Kolkata".into());
    }
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%H:%M").to_string();
    let now = chrono::Utc::now();
    let waves = json!([
        { "percent": 10, "success_threshold_pct": 90, "failure_threshold_pct": 15 },
        { "percent": 50, "success_threshold_pct": 90, "failure_threshold_pct": 15 },
        { "percent": 100, "success_threshold_pct": 90, "failure_threshold_pct": 15 }
    ]);
    let created = app
        .post("/api/v1/rollouts", Some(&app.admin_token), &json!({
            "name": "4.2 for X1 and X2",
            "bundles": ["codec-pack@2.0.0", "x2-firmware@4.2.0", "x1-firmware@4.2.0"],
            "target": { "models": ["X1", "X2"] },
            "waves": waves,
            "device_timeout_secs": 600,
            "window": { "start": fmt(now - chrono::TimeDelta::hours(1)), "end": fmt(now + chrono::TimeDelta::hours(1)) },
        }))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    let rollout_id: uuid::Uuid = id.parse().expect("uuid");
    let bucket = |b: &Box_| {
        wavecast_server::updates::rollouts::waves::bucket(rollout_id, b.id.parse().expect("uuid"))
    };
    let kolkata = |b: &Box_| b.timezone.as_deref() == Some("Asia/Kolkata");

    // Wave 1 is exactly the boxes whose bucket is under 10 %, minus those outside their window.
    let wave1 = offered(&app, &fleet, &keys).await;
    let expected: Vec<usize> = (0..fleet.len())
        .filter(|i| bucket(&fleet[*i]) < 1000 && !kolkata(&fleet[*i]))
        .collect();
    assert_eq!(wave1, expected);
    // Boxes outside their window are told nothing, whatever their wave. They
    // still count in their wave, which waits for them; here they move to UTC.
    let away: Vec<usize> = (0..fleet.len()).filter(|i| kolkata(&fleet[*i])).collect();
    assert!(!away.is_empty());
    for i in away {
        assert!(
            fleet[i].check_in(&app, &root).await.1.offers.is_empty(),
            "outside the window"
        );
        fleet[i].timezone = Some("UTC".into());
    }
    let wave1 = offered(&app, &fleet, &keys).await;
    let expected: Vec<usize> = (0..fleet.len())
        .filter(|i| bucket(&fleet[*i]) < 1000)
        .collect();
    assert_eq!(wave1, expected);
    assert!(wave1.len() >= 8, "a 10 % wave of 200: {}", wave1.len());
    for i in &wave1 {
        let (_, p) = fleet[*i].check_in(&app, &root).await;
        let names: Vec<String> = p
            .offers
            .iter()
            .map(|o| {
                wavecast_protocol::manifest::Manifest::parse(
                    &o.manifest.payload_bytes().expect("p"),
                )
                .expect("m")
                .name
            })
            .collect();
        let want: &[&str] = if fleet[*i].model == "X1" {
            &["x1-firmware", "codec-pack"]
        } else {
            &["x2-firmware"]
        };
        assert_eq!(names, want, "firmware before the codec pack that needs it");
    }

    // A quarter of wave 1 fails: above 15 %, the rollout pauses.
    let failing = wave1.len() / 4 + 1;
    let mut taken = Vec::new();
    for i in &wave1[..failing] {
        let (_, p) = fleet[*i].check_in(&app, &root).await;
        taken.push((*i, p.offers[0].clone()));
    }
    for (i, o) in &taken {
        assert_eq!(
            fleet[*i]
                .report(
                    &app,
                    &o.rollout_id,
                    &o.bundle_id,
                    InstallState::Failed,
                    Some("flash-error")
                )
                .await,
            204
        );
    }
    wait_for(&app, &id, "the pause", |r| r["state"] == "paused").await;
    let resumed = app
        .post(
            &format!("/api/v1/rollouts/{id}/resume"),
            Some(&app.admin_token),
            &json!({}),
        )
        .await;
    assert_eq!(resumed.body["state"], "running");
    for i in &wave1[failing..] {
        fleet[*i].install_all(&app, &root).await;
    }
    wait_for(&app, &id, "wave 2", |r| r["open_waves"] == 2).await;

    // A box enrolled now lands in the wave its bucket says.
    assert_eq!(app.import_serials("SN-LATE-1,X1\n").await.status, 200);
    let late = enrol_one(
        &app,
        "SN-LATE-1",
        "X1",
        box_key(99_999),
        &[("x1-firmware", "4.1.0", 1)],
    )
    .await;
    let late_offered = !late.check_in(&app, &root).await.1.offers.is_empty();
    assert_eq!(
        late_offered,
        bucket(&late) < 5000,
        "bucket {}",
        bucket(&late)
    );

    // Wave 2: one box starts and goes silent; it times out into failure.
    let wave2: Vec<usize> = offered(&app, &fleet, &keys)
        .await
        .into_iter()
        .filter(|i| !wave1.contains(i))
        .collect();
    let expected: Vec<usize> = (0..fleet.len())
        .filter(|i| (1000..5000).contains(&bucket(&fleet[*i])))
        .collect();
    assert_eq!(wave2, expected);
    let silent = wave2[0];
    fleet[silent].begin_first(&app, &root).await;
    // It stays silent past the device timeout on the server's clock.
    app.advance(601);
    wait_for(&app, &id, "the silent box's timeout", |r| {
        r["counts"]["failed"].as_u64().unwrap_or(0) > failing as u64
    })
    .await;
    for i in &wave2[1..] {
        fleet[*i].install_all(&app, &root).await;
    }
    let v = wait_for(&app, &id, "wave 3", |r| r["open_waves"] == 3).await;
    assert!(
        v["counts"]["failed"].as_u64().unwrap_or(0) > failing as u64,
        "the silent box counts as failed: {v}"
    );

    let rest: Vec<usize> = (0..fleet.len())
        .filter(|i| !wave1.contains(i) && !wave2.contains(i))
        .collect();
    for i in rest {
        fleet[i].install_all(&app, &root).await;
    }
    let done = wait_for(&app, &id, "completion", |r| r["state"] == "completed").await;
    assert_eq!(
        done["counts"]["failed"].as_u64(),
        Some(failing as u64 + 1),
        "{done}"
    );
}

wavecast_e2e::both_backends!(configure = wavecast_e2e::trust::server_signs; two_hundred_boxes_in_three_waves);
