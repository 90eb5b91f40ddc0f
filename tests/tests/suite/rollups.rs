//! Telemetry over time: the rollup pass turns raw health reports into
//! hourly rollups (late deliveries included), retention removes raw
//! reports while faults and rollups stay, long-range series read the
//! rollups, and the fleet summary counts boxes online, versions by model
//! and fault rates per 1,000 device-days.

use chrono::TimeDelta;
use serde_json::{json, Value};
use wavecast_e2e::{
    fleet::{enrol_many, send_events as send, Box_},
    trust::{server_signs, Keys},
    TestApp,
};
use wavecast_protocol::{
    checkin::Component,
    events::{Event, EventBody, FaultReport, HealthReport},
};

fn health(id: &str, at: i64, cpu: f32) -> Event {
    Event {
        id: id.into(),
        body: EventBody::Health(HealthReport {
            at,
            cpu_percent: Some(cpu),
            ..HealthReport::default()
        }),
    }
}

fn crash(id: &str, at: i64, fw: &str) -> Event {
    Event {
        id: id.into(),
        body: EventBody::Fault(FaultReport {
            at,
            code: "SW-APP-102".into(),
            signature: None,
            details: None,
            installed: vec![Component {
                name: "x1-firmware".into(),
                version: fw.parse().expect("version"),
                security_version: 1,
            }],
        }),
    }
}

async fn cpu_hourly(app: &TestApp, b: &Box_, from: i64) -> Value {
    let s = app
        .get(
            &format!(
                "/api/v1/devices/{}/series?metric=cpu_percent&from={from}&to={}&resolution=hour",
                b.id,
                from + 7200
            ),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(s.status, 200, "{}", s.body);
    s.body
}

async fn rollups_retention_and_the_fleet_summary(app: TestApp) {
    let keys = Keys::new();
    keys.publish(&app).await;
    let mut old = enrol_many(&app, 1, 2, "X1", &[("x1-firmware", "4.1.0", 1)]).await;
    let new = enrol_many(&app, 3, 1, "X1", &[("x1-firmware", "4.2.0", 1)]).await;
    let silent = enrol_many(&app, 4, 1, "X2", &[]).await;
    old.extend(new);
    let boxes = old;
    for b in &boxes {
        b.check_in(&app, &keys.root.verifying_key()).await;
    }
    let now = app.clock.now();
    let hour = (now.timestamp() / 3600 - 2) * 3600;
    send(
        &app,
        &boxes[0],
        vec![
            health("h1", hour + 10, 10.0),
            health("h2", hour + 20, 20.0),
            health("h3", hour + 30, 30.0),
        ],
    )
    .await;
    send(&app, &boxes[1], vec![health("h1", hour + 5, 50.0)]).await;
    send(
        &app,
        &boxes[2],
        vec![
            health("h1", hour + 5, 5.0),
            crash("f1", hour + 6, "4.2.0"),
            crash("f2", hour + 7, "4.2.0"),
        ],
    )
    .await;

    let db = wavecast_server::platform::db::connect(&app.config.database)
        .await
        .expect("a second connection");
    let cfg = &app.config.telemetry;
    // Reports are rolled up once they are a minute old.
    let soon = now + TimeDelta::seconds(61);
    let p = wavecast_server::fleet::telemetry::rollups::pass(&db, cfg, now)
        .await
        .expect("pass");
    assert_eq!(p.hours, 0, "nothing is a minute old yet");
    let p = wavecast_server::fleet::telemetry::rollups::pass(&db, cfg, soon)
        .await
        .expect("pass");
    assert_eq!(p.hours, 3, "one hour for each reporting box: {p:?}");
    let s = cpu_hourly(&app, &boxes[0], hour).await;
    assert_eq!(s["resolution"], "hour");
    assert_eq!(
        s["hourly"],
        json!([{ "at": hour, "count": 3, "mean": 20.0, "min": 10.0, "max": 30.0 }])
    );
    assert_eq!(s["points"], json!([[hour, 20.0]]));

    // A late delivery into the same hour is rolled up at the next pass.
    // (The pass above ran a minute from now: arrive after where it
    // stopped.)
    app.advance(2);
    send(&app, &boxes[0], vec![health("h4", hour + 40, 60.0)]).await;
    let later = app.clock.now() + TimeDelta::seconds(61);
    let p = wavecast_server::fleet::telemetry::rollups::pass(&db, cfg, later)
        .await
        .expect("pass");
    assert_eq!(p.hours, 1, "{p:?}");
    let s = cpu_hourly(&app, &boxes[0], hour).await;
    assert_eq!(s["hourly"][0]["count"], 4);
    assert_eq!(s["hourly"][0]["max"], 60.0);

    // Fleet summary. Online means heard from within the hour: an hour on,
    // the box that only enrolled has gone quiet; the others check in (and
    // who was heard from is written).
    app.advance(3601);
    for b in &boxes {
        b.check_in(&app, &keys.root.verifying_key()).await;
    }
    app.run_job("presence").await;
    let f = app
        .get("/api/v1/fleet/summary?days=1", Some(&app.admin_token))
        .await;
    assert_eq!(f.status, 200, "{}", f.body);
    let f = f.body;
    assert!(f["rates_through"].is_string(), "the rollup's progress: {f}");
    assert_eq!(f["devices"], 4, "{f}");
    assert_eq!(
        f["online"], 3,
        "the box that never checked in is offline: {f}"
    );
    let versions = f["versions"].as_array().expect("versions");
    let count = |model: &str, fw: Value| {
        versions
            .iter()
            .find(|v| v["model"] == model && v["firmware"] == fw)
            .map(|v| (v["devices"].as_u64(), v["online"].as_u64()))
    };
    assert_eq!(
        count("X1", json!("x1-firmware@4.1.0")),
        Some((Some(2), Some(2)))
    );
    assert_eq!(
        count("X1", json!("x1-firmware@4.2.0")),
        Some((Some(1), Some(1)))
    );
    assert_eq!(count("X2", Value::Null), Some((Some(1), Some(0))));
    let rate = |fw: &str| {
        f["fault_rates"]
            .as_array()
            .expect("rates")
            .iter()
            .find(|r| r["model"] == "X1" && r["firmware"] == fw)
            .cloned()
            .unwrap_or_else(|| panic!("{fw} in {f}"))
    };
    // 4.2.0: two faults in one device-hour; 4.1.0: none in two.
    let r = rate("x1-firmware@4.2.0");
    assert_eq!(r["faults"], 2);
    assert_eq!(r["per_1000_device_days"], 48_000.0);
    let r = rate("x1-firmware@4.1.0");
    assert_eq!(
        (r["faults"].as_u64(), r["per_1000_device_days"].as_f64()),
        (Some(0), Some(0.0))
    );
    assert_eq!(
        app.get("/api/v1/fleet/summary?days=0", Some(&app.admin_token))
            .await
            .problem(422),
        "days must be 1 to 400"
    );
    // A box cannot read the fleet.
    app.get("/api/v1/fleet/summary", Some(&silent[0].credential))
        .await
        .problem(401);

    // Fifteen days on, raw reports are gone; faults and rollups stay.
    let p = wavecast_server::fleet::telemetry::rollups::pass(&db, cfg, now + TimeDelta::days(15))
        .await
        .expect("pass");
    assert_eq!(p.deleted_raw, 6, "every health report: {p:?}");
    assert_eq!((p.deleted_faults, p.deleted_rollups), (0, 0), "{p:?}");
    let raw = app
        .get(
            &format!(
                "/api/v1/devices/{}/series?metric=cpu_percent&from={hour}&to={}",
                boxes[0].id,
                hour + 3600
            ),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(raw.body["resolution"], "raw");
    assert_eq!(raw.body["points"], json!([]));
    assert_eq!(
        cpu_hourly(&app, &boxes[0], hour).await["hourly"][0]["count"],
        4
    );
    let faults = app
        .get(
            &format!("/api/v1/devices/{}/events?type=fault", boxes[2].id),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(faults.body["events"].as_array().map(Vec::len), Some(2));
}

wavecast_e2e::both_backends!(
    configure = |c| {
        server_signs(c);
        // The test runs the passes itself.
        c.telemetry.rollup_every_secs = 3600;
    };
    rollups_retention_and_the_fleet_summary
);
