//! Health and fault events over HTTPS: boxes send batches
//! (`POST /api/v1/device/events`), redeliveries store nothing twice, the drop
//! count only grows, a bad batch stores nothing, and support staff read a
//! box's events (`GET /api/v1/devices/{ref}/events`) and its metric series
//! (`…/series`) that no box can read.

use serde_json::{json, Value};
use wavecast_e2e::{
    fleet::{enrol_many, Box_},
    TestApp,
};
use wavecast_protocol::{
    checkin::Component,
    events::{
        Event, EventBatch, EventBody, EventsAccepted, FaultReport, HealthReport, StorageUse,
        MAX_BATCH_EVENTS,
    },
};
use wavecast_server::fleet::views::{DeviceEvents, Series};

const EVENTS: &str = "/api/v1/device/events";

fn health(id: &str, at: i64) -> Event {
    Event {
        id: id.into(),
        body: EventBody::Health(HealthReport {
            at,
            uptime_secs: Some(86_400),
            cpu_percent: Some(12.5),
            load1: Some(0.75),
            mem_total_kib: Some(1_048_576),
            mem_available_kib: Some(524_288),
            temperature_c: Some(61.5),
            storage: vec![StorageUse {
                mount: "/data".into(),
                total_bytes: 4 << 30,
                used_bytes: 1 << 30,
                wear_percent: Some(7),
            }],
            net_rx_bytes: Some(123_456_789),
            net_tx_bytes: Some(987_654),
            metrics: [
                ("decoder_errors".to_owned(), 3.0),
                ("tuner_locked".to_owned(), 1.0),
            ]
            .into(),
        }),
    }
}

fn fault(id: &str, at: i64, code: &str) -> Event {
    Event {
        id: id.into(),
        body: EventBody::Fault(FaultReport {
            at,
            code: code.into(),
            signature: Some("decoder::flush+0x40".into()),
            details: Some("HDMI hot-plug lost".into()),
            installed: vec![Component {
                name: "x1-firmware".into(),
                version: "4.1.0".parse().expect("version"),
                security_version: 1,
            }],
        }),
    }
}

fn batch(events: Vec<Event>, dropped_total: u64) -> Value {
    serde_json::to_value(EventBatch {
        events,
        dropped_total,
    })
    .expect("json")
}

async fn send(app: &TestApp, b: &Box_, body: &Value) -> EventsAccepted {
    let a = app.post(EVENTS, Some(&b.credential), body).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

/// A box's events as the admin reads them.
async fn read(app: &TestApp, reference: &str, query: &str) -> DeviceEvents {
    read_as(app, &app.admin_token, reference, query).await
}

async fn read_as(app: &TestApp, token: &str, reference: &str, query: &str) -> DeviceEvents {
    let a = app
        .get(
            &format!("/api/v1/devices/{reference}/events{query}"),
            Some(token),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

fn ids(d: &DeviceEvents) -> Vec<&str> {
    d.events.iter().map(|e| e.event.id.as_str()).collect()
}

async fn a_batch_is_stored_and_read_back(app: TestApp) {
    let boxes = enrol_many(&app, 100, 1, "X1", &[]).await;
    let b = &boxes[0];
    let sent = vec![
        health("h-1", 1_700_000_000),
        fault("f-1", 1_700_000_100, "HW-HDMI-001"),
        fault("f-2", 1_700_000_100, "SW-CRASH-107"),
        health("h-2", 1_700_000_200),
    ];
    let before = chrono::Utc::now();
    let accepted = send(&app, b, &batch(sent.clone(), 2)).await;
    assert_eq!(
        accepted,
        EventsAccepted {
            accepted: 4,
            duplicates: 0
        }
    );

    let got = read(&app, &b.id, "").await;
    assert_eq!(got.device_id.to_string(), b.id);
    assert_eq!(got.dropped_total, 2);
    // Newest first by the time on the box, then by id.
    assert_eq!(ids(&got), ["h-2", "f-2", "f-1", "h-1"]);
    for stored in &got.events {
        let original = sent.iter().find(|e| e.id == stored.event.id).expect("sent");
        assert_eq!(&stored.event, original, "stored as sent");
        assert!(stored.received_at >= before - chrono::TimeDelta::seconds(1));
    }

    // The wire shape: the event's own fields with its type and received_at.
    let raw = app
        .get(
            &format!("/api/v1/devices/{}/events?type=fault&limit=1", b.serial),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(raw.status, 200, "{}", raw.body);
    let e = &raw.body["events"][0];
    assert_eq!(raw.body["events"].as_array().map(Vec::len), Some(1));
    assert_eq!(e["id"], "f-2");
    assert_eq!(e["type"], "fault");
    assert_eq!(e["code"], "SW-CRASH-107");
    assert_eq!(e["at"], 1_700_000_100);
    assert!(e["received_at"].is_string(), "{e}");

    let health_only = read(&app, &b.id, "?type=health").await;
    assert_eq!(ids(&health_only), ["h-2", "h-1"]);
    let h = &app
        .get(
            &format!("/api/v1/devices/{}/events?type=health&limit=1", b.id),
            Some(&app.admin_token),
        )
        .await
        .body["events"][0];
    assert_eq!(h["cpu_percent"], 12.5);
    assert_eq!(h["metrics"]["decoder_errors"], 3.0);
    assert_eq!(h["storage"][0]["wear_percent"], 7);

    // Bad query values are problems; an unknown box is 404.
    let q = |query: &str| format!("/api/v1/devices/{}/events{query}", b.id);
    let admin = Some(app.admin_token.as_str());
    for bad in ["?limit=0", "?limit=1001"] {
        let d = app.get(&q(bad), admin).await.problem(422);
        assert!(d.contains("limit"), "{d}");
    }
    for bad in ["?type=crash", "?limit=ten", "?since=1"] {
        app.get(&q(bad), admin).await.problem(400);
    }
    app.get("/api/v1/devices/SN-NOPE/events", admin)
        .await
        .problem(404);
}

async fn a_resent_batch_stores_nothing_twice(app: TestApp) {
    let boxes = enrol_many(&app, 200, 1, "X1", &[]).await;
    let b = &boxes[0];
    let sent = batch(
        vec![
            health("1", 1_700_000_000),
            fault("2", 1_700_000_001, "HW-PWR-006"),
            fault("3", 1_700_000_002, "SW-AGENT-106"),
        ],
        0,
    );
    assert_eq!(send(&app, b, &sent).await.accepted, 3);
    // The box lost the answer and sends the same batch again.
    assert_eq!(
        send(&app, b, &sent).await,
        EventsAccepted {
            accepted: 0,
            duplicates: 3
        }
    );
    // A batch mixing old and new events stores only the new ones.
    let mixed = batch(
        vec![
            fault("3", 1_700_000_002, "SW-AGENT-106"),
            health("4", 1_700_000_003),
        ],
        0,
    );
    assert_eq!(
        send(&app, b, &mixed).await,
        EventsAccepted {
            accepted: 1,
            duplicates: 1
        }
    );
    let got = read(&app, &b.id, "").await;
    assert_eq!(ids(&got), ["4", "3", "2", "1"]);
    // An empty batch is fine (a box that only reports its drop count).
    assert_eq!(
        send(&app, b, &batch(vec![], 0)).await,
        EventsAccepted {
            accepted: 0,
            duplicates: 0
        }
    );
}

async fn the_drop_count_only_grows(app: TestApp) {
    let boxes = enrol_many(&app, 300, 1, "X1", &[]).await;
    let b = &boxes[0];
    assert_eq!(read(&app, &b.id, "").await.dropped_total, 0);
    send(&app, b, &batch(vec![health("1", 1_700_000_000)], 5)).await;
    assert_eq!(read(&app, &b.id, "").await.dropped_total, 5);
    // An older batch arriving late (or a box that lost its counter) does not
    // lower it, nor does a batch that leaves the count out.
    send(&app, b, &batch(vec![health("2", 1_700_000_001)], 3)).await;
    send(&app, b, &json!({ "events": [] })).await;
    assert_eq!(read(&app, &b.id, "").await.dropped_total, 5);
    send(&app, b, &batch(vec![], 8)).await;
    assert_eq!(read(&app, &b.id, "").await.dropped_total, 8);
}

async fn a_bad_batch_stores_nothing(app: TestApp) {
    let boxes = enrol_many(&app, 400, 1, "X1", &[]).await;
    let b = &boxes[0];
    let good = || health("ok", 1_700_000_000);
    let mut long = fault("long", 1_700_000_000, "HW-HDMI-001");
    if let EventBody::Fault(f) = &mut long.body {
        f.details = Some("x".repeat(5000));
    }
    let refused: Vec<(Value, &str)> = vec![
        (
            batch(vec![good(), health("twice", 1), health("twice", 2)], 9),
            "twice",
        ),
        (
            batch(vec![good(), fault("f", 1, "not a code")], 9),
            "fault code",
        ),
        (
            batch(
                (0..=MAX_BATCH_EVENTS)
                    .map(|i| health(&format!("e{i}"), 1_700_000_000))
                    .collect(),
                9,
            ),
            "at most",
        ),
        (batch(vec![good(), long], 9), "details"),
        (batch(vec![good(), health("bad id!", 1)], 9), "event id"),
    ];
    for (body, reason) in refused {
        let d = app
            .post(EVENTS, Some(&b.credential), &body)
            .await
            .problem(422);
        assert!(d.contains(reason), "{reason}: {d}");
    }
    // Valid events, but a body over the route's limit (1 MiB).
    let big = (0..300)
        .map(|i| {
            let mut f = fault(&format!("big{i}"), 1_700_000_000, "HW-HDMI-001");
            if let EventBody::Fault(f) = &mut f.body {
                f.details = Some("x".repeat(4000));
            }
            f
        })
        .collect();
    let d = app
        .post(EVENTS, Some(&b.credential), &batch(big, 9))
        .await
        .problem(413);
    assert!(d.contains("too large"), "{d}");
    // Bodies that are not batches at all.
    let d = app
        .post(
            EVENTS,
            Some(&b.credential),
            &json!({ "events": [{ "id": "x", "type": "mood", "at": 1 }] }),
        )
        .await
        .problem(422);
    assert!(d.contains("invalid JSON"), "{d}");
    app.post(EVENTS, Some(&b.credential), &json!({ "events": "none" }))
        .await
        .problem(422);

    let got = read(&app, &b.id, "").await;
    assert!(got.events.is_empty(), "nothing stored: {:?}", ids(&got));
    assert_eq!(
        got.dropped_total, 0,
        "nor the drop count of a refused batch"
    );
}

async fn boxes_see_only_their_own_and_support_reads(app: TestApp) {
    let boxes = enrol_many(&app, 500, 2, "X1", &[]).await;
    let (a, b) = (&boxes[0], &boxes[1]);
    send(
        &app,
        a,
        &batch(
            vec![health("1", 1_700_000_000), health("2", 1_700_000_001)],
            1,
        ),
    )
    .await;
    // Ids are per box: B's "1" is not a duplicate of A's.
    let accepted = send(
        &app,
        b,
        &batch(vec![fault("1", 1_700_000_005, "SW-WDOG-104")], 4),
    )
    .await;
    assert_eq!(accepted.accepted, 1);

    let support = app.user_with_role("support", "support").await;
    let of_a = read_as(&app, &support, &a.serial, "").await;
    assert_eq!(ids(&of_a), ["2", "1"]);
    assert_eq!(of_a.dropped_total, 1);
    assert!(of_a
        .events
        .iter()
        .all(|e| matches!(e.event.body, EventBody::Health(_))));
    let of_b = read_as(&app, &support, &b.serial, "").await;
    assert_eq!(ids(&of_b), ["1"]);
    assert_eq!(of_b.dropped_total, 4);
    assert!(matches!(of_b.events[0].event.body, EventBody::Fault(_)));
    // Every role reads (viewer included); operators too.
    for role in ["viewer", "operator"] {
        let t = app.user_with_role(&format!("a-{role}"), role).await;
        read_as(&app, &t, &a.id, "").await;
    }

    // No device credential reads the management route, its own box's
    // events included.
    for (who, target) in [(a, b), (a, a), (b, a)] {
        let status = app
            .get(
                &format!("/api/v1/devices/{}/events", target.id),
                Some(&who.credential),
            )
            .await
            .status
            .as_u16();
        assert!(matches!(status, 401 | 403), "{status}");
    }
    app.get(&format!("/api/v1/devices/{}/events", a.id), None)
        .await
        .problem(401);
    // Nor does anything but a device credential send events.
    let one = batch(vec![health("9", 1)], 0);
    for token in [None, Some(app.admin_token.as_str()), Some(support.as_str())] {
        app.post(EVENTS, token, &one).await.problem(401);
    }
    assert_eq!(read_as(&app, &support, &a.id, "").await.events.len(), 2);
}

/// A health report at `at` with only `cpu` and one collector's value.
fn cpu(id: &str, at: i64, cpu: Option<f32>, decoder_errors: f64) -> Event {
    Event {
        id: id.into(),
        body: EventBody::Health(HealthReport {
            at,
            cpu_percent: cpu,
            metrics: [("decoder_errors".to_owned(), decoder_errors)].into(),
            ..HealthReport::default()
        }),
    }
}

async fn a_metric_comes_back_as_a_series(app: TestApp) {
    let boxes = enrol_many(&app, 400, 3, "X1", &[]).await;
    let (a, other, silent) = (&boxes[0], &boxes[1], &boxes[2]);
    let t = 1_700_000_000;
    send(
        &app,
        a,
        &batch(
            vec![
                cpu("1", t, Some(10.5), 0.0),
                cpu("2", t + 60, None, 1.0),
                cpu("3", t + 120, Some(30.25), 4.0),
                fault("4", t + 130, "SW-DEC-101"),
                cpu("5", t + 180, Some(5.0), 4.0),
            ],
            0,
        ),
    )
    .await;
    send(
        &app,
        other,
        &batch(vec![cpu("1", t + 60, Some(99.0), 9.0)], 0),
    )
    .await;
    let support = app.user_with_role("sue", "support").await;
    let get = |q: String| {
        let (app, support) = (&app, support.clone());
        async move {
            app.get(
                &format!("/api/v1/devices/{}/series?{q}", a.serial),
                Some(&support),
            )
            .await
        }
    };
    let s: Series = get(format!("metric=cpu_percent&from={t}&to={}", t + 3600))
        .await
        .json();
    assert_eq!(
        s.points,
        [(t, 10.5), (t + 120, 30.25), (t + 180, 5.0)],
        "only this box's, only reports that carry it"
    );
    assert!(!s.truncated);
    let s: Series = get(format!(
        "metric=decoder_errors&from={}&to={}",
        t + 60,
        t + 120
    ))
    .await
    .json();
    assert_eq!(
        s.points,
        [(t + 60, 1.0), (t + 120, 4.0)],
        "both ends included"
    );
    let s: Series = get(format!(
        "metric=cpu_percent&from={t}&to={}&limit=2",
        t + 3600
    ))
    .await
    .json();
    assert_eq!(
        s.points,
        [(t, 10.5)],
        "two reports read, one carried the metric"
    );
    assert!(s.truncated);
    // A name the box does not report (a typo, most often) is not an empty
    // series: the answer names the metrics it does report.
    let d = get(format!("metric=temperature&from={t}&to={}", t + 3600))
        .await
        .problem(404);
    assert!(
        d.contains("\"temperature\"") && d.contains("cpu_percent, decoder_errors"),
        "{d}"
    );
    let d = app
        .get(
            &format!(
                "/api/v1/devices/{}/series?metric=cpu_percent",
                silent.serial
            ),
            Some(&support),
        )
        .await
        .problem(404);
    assert!(d.contains("has not reported health yet"), "{d}");
    // The last 24 hours by default: these reports are from 2023.
    let s: Series = get("metric=cpu_percent".into()).await.json();
    assert!(s.points.is_empty());
    assert_eq!(s.to - s.from, 86_400);

    for (q, status, reason) in [
        ("metric=cpu%20percent".to_owned(), 422, "printable"),
        (
            format!("metric=cpu_percent&from={}&to={t}", t + 1),
            422,
            "from <= to",
        ),
        (
            format!("metric=cpu_percent&from=0&to={t}"),
            422,
            "seconds apart",
        ),
        // Any i64 is a valid number: no overflow on the way to a refusal.
        (
            format!("metric=cpu_percent&from={}&to={}", i64::MIN, i64::MAX),
            422,
            "seconds apart",
        ),
        (
            format!("metric=cpu_percent&from={}", i64::MIN),
            422,
            "seconds apart",
        ),
        ("metric=cpu_percent&limit=0".to_owned(), 422, "limit"),
        ("from=1".to_owned(), 400, "metric"),
    ] {
        let d = get(q).await.problem(status);
        assert!(d.contains(reason), "{reason}: {d}");
    }
    // A box reads no series, not even its own.
    app.get(
        &format!("/api/v1/devices/{}/series?metric=cpu_percent", a.serial),
        Some(&a.credential),
    )
    .await
    .problem(401);
}

wavecast_e2e::both_backends!(
    a_metric_comes_back_as_a_series,
    a_batch_is_stored_and_read_back,
    a_resent_batch_stores_nothing_twice,
    the_drop_count_only_grows,
    a_bad_batch_stores_nothing,
    boxes_see_only_their_own_and_support_reads,
);
