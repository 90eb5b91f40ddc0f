//! The simulator (`wavecast-agent simulate`, the real binary) against the
//! real server: health reports sent over MQTT come back from the series
//! query exactly as sent, and a rollout whose updated boxes start crashing
//! is paused by its health gate while a second rollout to healthy boxes
//! completes; the crashes group into one fleet problem.

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use wavecast_e2e::{
    bin,
    trust::{good_bundle, payload, server_signs, Keys},
    TestApp,
};
use wavecast_protocol::keys::public_key_text;

use wavecast_e2e::sim::run as simulate;

/// Ids of the devices whose serial starts with `prefix`.
async fn devices(app: &TestApp, prefix: &str) -> Vec<String> {
    let listed = app
        .get("/api/v1/devices?limit=1000", Some(&app.admin_token))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|d| d["serial"].as_str().is_some_and(|s| s.starts_with(prefix)))
        .map(|d| d["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn telemetry_over_mqtt_comes_back_as_a_series(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let line = simulate(
        &app,
        &keys,
        &[
            "--devices",
            "4",
            "--serial-prefix",
            "TEL",
            "--telemetry-secs",
            "1",
            "--events-over",
            "mqtt",
            "--duration",
            "6",
        ],
    )
    .await;
    let sent = bin::count_after(&line, "events ");
    let over_mqtt = bin::count_after(&line, "(");
    assert!(sent >= 8, "each box reported several times: {line}");
    // A box learns of the broker at its first check-in: only the report
    // made before it goes over HTTPS.
    assert!(
        over_mqtt + 4 >= sent && over_mqtt > 0,
        "reports went over MQTT: {line}"
    );
    let ids = devices(&app, "TEL").await;
    assert_eq!(ids.len(), 4);
    // The broker acknowledged every report; the server stores them in
    // batches, so wait until all are in.
    let deadline = Instant::now() + Duration::from_secs(20);
    let now = chrono::Utc::now().timestamp();
    loop {
        let mut stored = 0;
        let mut series = Vec::new();
        for id in &ids {
            let s = app
                .get(
                    &format!(
                        "/api/v1/devices/{id}/series?metric=sim.report&from={}&to={}&limit=1000",
                        now - 3600,
                        now + 3600
                    ),
                    Some(&app.admin_token),
                )
                .await;
            assert_eq!(s.status, 200, "{}", s.body);
            let values: Vec<f64> = s.body["points"]
                .as_array()
                .expect("points")
                .iter()
                .map(|p| p[1].as_f64().expect("value"))
                .collect();
            stored += values.len() as u64;
            series.push(values);
        }
        if stored == sent {
            for values in series {
                // Each box numbers its reports from 1: all of them, in order.
                let expected: Vec<f64> = (1..=values.len()).map(|n| n as f64).collect();
                assert_eq!(values, expected);
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{stored} of {sent} reports stored"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let text = app.metrics_text().await;
    assert!(
        text.contains("wavecast_mqtt_messages_total{channel=\"telemetry\"}"),
        "{text}"
    );
}

async fn a_crash_spike_pauses_the_gated_rollout_only(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    app.upload_and_publish(
        good_bundle(&keys, "x1-firmware", "4.2.0", &payload(4096, 3)),
        "x1-firmware@4.2.0",
    )
    .await;
    // Enrol both fleets first, so the waves are cut over all of them.
    for prefix in ["SPIKE", "CALM"] {
        simulate(
            &app,
            &keys,
            &[
                "--devices",
                "10",
                "--serial-prefix",
                prefix,
                "--duration",
                "2",
            ],
        )
        .await;
    }
    let gate = json!({ "classes": ["software"], "max_ratio": 2, "min_device_days": 0.0001, "min_faults": 3 });
    let mut ids = Vec::new();
    // The spike's first wave soaks for an hour: only its gate can stop it.
    // The calm fleet's waves go through in seconds.
    for (prefix, soak) in [("SPIKE", 3600), ("CALM", 2)] {
        let serials: Vec<String> = (0..10).map(|i| format!("{prefix}{i:06}")).collect();
        let r = app
            .post(
                "/api/v1/rollouts",
                Some(&app.admin_token),
                &json!({
                    "name": format!("4.2.0 to {prefix}"),
                    "bundles": ["x1-firmware@4.2.0"],
                    "target": { "serials": serials },
                    "waves": [
                        { "percent": 50, "soak_secs": soak, "success_threshold_pct": 90 },
                        { "percent": 100 }
                    ],
                    "health_gate": gate,
                }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["health_gate"]["max_ratio"], 2.0);
        ids.push(r.body["id"].as_str().expect("id").to_owned());
    }
    let spike = tokio::spawn({
        let (address, token) = (app.address.clone(), app.admin_token.clone());
        let root = public_key_text(&keys.root.verifying_key());
        async move {
            tokio::process::Command::new(bin::path("wavecast-agent"))
                .arg("simulate")
                .args(["--server", &address, "--root-key", &root, "--token", &token])
                .args(["--threads", "4", "--poll", "1", "--devices", "10"])
                .args(["--serial-prefix", "SPIKE", "--telemetry-secs", "1"])
                .args(["--events-over", "mqtt", "--faults-after-update-rate", "1"])
                .args(["--reboot-ms", "100", "--duration", "15"])
                .stdin(Stdio::null())
                .output()
                .await
                .expect("the simulator runs")
        }
    });
    let calm = simulate(
        &app,
        &keys,
        &[
            "--devices",
            "10",
            "--serial-prefix",
            "CALM",
            "--telemetry-secs",
            "1",
            "--events-over",
            "mqtt",
            "--reboot-ms",
            "100",
            "--duration",
            "15",
        ],
    )
    .await;
    let spike = spike.await.expect("joined");
    assert!(
        spike.status.success(),
        "{}",
        String::from_utf8_lossy(&spike.stderr)
    );
    let show = |id: &str| format!("/api/v1/rollouts/{id}");
    let gated = app.get(&show(&ids[0]), Some(&app.admin_token)).await.body;
    assert_eq!(gated["state"], "paused", "{gated}");
    let reason = gated["reason"].as_str().unwrap_or_default();
    assert!(reason.starts_with("health gate:"), "{reason}");
    assert_eq!(gated["open_waves"], 1, "the second wave never opened");
    let calm_rollout = app.get(&show(&ids[1]), Some(&app.admin_token)).await.body;
    assert_eq!(calm_rollout["state"], "completed", "{calm_rollout}\n{calm}");
    assert_eq!(calm_rollout["counts"]["succeeded"], 10, "{calm_rollout}");
    // The crashes are one fleet problem across the updated spike boxes.
    let problems = app
        .get("/api/v1/problems?code=SW-APP-102", Some(&app.admin_token))
        .await;
    assert_eq!(problems.status, 200, "{}", problems.body);
    let p: Vec<&Value> = problems
        .body
        .as_array()
        .expect("items")
        .iter()
        .filter(|p| p["signature"] == "crash:after-update")
        .collect();
    assert_eq!(p.len(), 1, "{}", problems.body);
    let updated = gated["counts"]["succeeded"].as_u64().expect("succeeded");
    assert!(updated >= 1);
    assert_eq!(p[0]["devices"].as_u64(), Some(updated), "{}", problems.body);
}

wavecast_e2e::both_backends!(
    configure = |c| {
        server_signs(c);
        c.rollouts.checkin_interval_secs = 1;
        c.rollouts.checkin_jitter_pct = 0;
        c.telemetry.presence_flush_secs = 1;
        // Waves and the health gate are judged twice a second.
        c.rollouts.tick_millis = 500;
    };
    telemetry_over_mqtt_comes_back_as_a_series,
    a_crash_spike_pauses_the_gated_rollout_only
);
