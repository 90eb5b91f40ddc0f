//! MQTT end to end, against the embedded broker and against Mosquitto (with
//! the server provisioning box accounts through its dynamic-security
//! plugin): boxes connect only as themselves, reach only their own topics,
//! are nudged when their wave opens, and report status, health and faults
//! over MQTT; HTTPS carries on when the broker is down or MQTT is off.

use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectReturnCode, Event, MqttOptions, Packet, Publish, QoS, SubscribeReasonCode,
};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use wavecast_e2e::{
    fleet::{enrol_many, Box_},
    mosquitto::Mosquitto,
    trust::{good_bundle, payload, server_signs, Keys},
    Backend, TestApp,
};
use wavecast_protocol::{
    mqtt::{topic, Channel, Nudge, NudgeReason},
    status::{InstallState, StatusReport},
};
use wavecast_server::platform::config::{Config, MqttMode, MqttProvision, SecretUrl};

/// A box's (or anyone's) MQTT session; what arrives is queued in `rx`.
struct Session {
    client: AsyncClient,
    rx: mpsc::UnboundedReceiver<Packet>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn connect(
    port: u16,
    client_id: &str,
    user: &str,
    password: &str,
) -> Result<Session, String> {
    let mut o = MqttOptions::new(client_id, "127.0.0.1", port);
    o.set_credentials(user, password);
    o.set_keep_alive(Duration::from_secs(10));
    let (client, mut events) = AsyncClient::new(o, 16);
    loop {
        match tokio::time::timeout(Duration::from_secs(5), events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::ConnAck(a)))) if a.code == ConnectReturnCode::Success => {
                break
            }
            Ok(Ok(Event::Incoming(Packet::ConnAck(a)))) => return Err(format!("{:?}", a.code)),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("no answer to CONNECT".into()),
        }
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Ok(e) = events.poll().await {
            if let Event::Incoming(p) = e {
                if tx.send(p).is_err() {
                    break;
                }
            }
        }
    });
    Ok(Session { client, rx, task })
}

/// Connects as the box, waiting for its account to reach the broker.
async fn connect_box(port: u16, b: &Box_) -> Session {
    let mut last = String::new();
    for _ in 0..100 {
        match connect(port, &b.id, &b.id, &b.credential).await {
            Ok(s) => return s,
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("box {} cannot connect: {last}", b.id);
}

impl Session {
    async fn subscribe(&mut self, filter: &str) -> SubscribeReasonCode {
        self.client
            .subscribe(filter, QoS::AtLeastOnce)
            .await
            .expect("queued");
        loop {
            match tokio::time::timeout(Duration::from_secs(5), self.rx.recv()).await {
                Ok(Some(Packet::SubAck(a))) => return a.return_codes[0],
                Ok(Some(_)) => {}
                Ok(None) => panic!("disconnected while subscribing to {filter}"),
                Err(_) => panic!("no SUBACK for {filter}"),
            }
        }
    }

    async fn next_publish(&mut self, within: Duration) -> Option<Publish> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(Packet::Publish(p))) => return Some(p),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return None,
            }
        }
    }

    async fn publish(&self, topic: String, body: &impl serde::Serialize) {
        self.client
            .publish(
                topic,
                QoS::AtLeastOnce,
                false,
                serde_json::to_vec(body).expect("json"),
            )
            .await
            .expect("queued");
    }
}

async fn release(app: &TestApp, keys: &Keys) {
    keys.publish(app).await;
    app.upload_and_publish(
        good_bundle(keys, "x1-firmware", "4.2.0", &payload(4_000, 7)),
        "x1-firmware@4.2.0",
    )
    .await;
}

async fn reported(app: &TestApp, rollout: &str) -> u64 {
    let r = app
        .get(
            &format!("/api/v1/rollouts/{rollout}"),
            Some(&app.admin_token),
        )
        .await;
    r.body["counts"]["reported"].as_u64().expect("counts")
}

/// The whole story on one broker at `port`.
async fn boxes_reach_only_their_own_topics(app: &TestApp, port: u16) {
    let keys = Keys::new();
    release(app, &keys).await;
    let root = keys.root.verifying_key();
    let boxes = enrol_many(app, 900, 2, "X1", &[("x1-firmware", "4.1.0", 1)]).await;
    let (a, b) = (&boxes[0], &boxes[1]);

    // Only as themselves.
    let mut sa = connect_box(port, a).await;
    assert!(
        connect(port, &b.id, &a.id, &a.credential).await.is_err(),
        "another box's client id (which would cut that box off) is refused"
    );
    assert!(
        connect(port, &b.id, &b.id, &a.credential).await.is_err(),
        "another box's name with its own credential is refused"
    );
    assert!(connect(port, &a.id, &a.id, "wcd_0000_wrong").await.is_err());
    assert!(
        connect(port, "anyone", "", "").await.is_err(),
        "no anonymous access"
    );

    // Only their own topics.
    for f in [
        topic(&b.id, Channel::Nudge),
        "wavecast/v1/devices/+/nudge".to_owned(),
        "wavecast/v1/devices/#".to_owned(),
        "#".to_owned(),
    ] {
        assert_eq!(sa.subscribe(&f).await, SubscribeReasonCode::Failure, "{f}");
    }
    let own = topic(&a.id, Channel::Nudge);
    assert!(matches!(
        sa.subscribe(&own).await,
        SubscribeReasonCode::Success(_)
    ));
    let mut sb = connect_box(port, b).await;
    let own_b = topic(&b.id, Channel::Nudge);
    assert!(matches!(
        sb.subscribe(&own_b).await,
        SubscribeReasonCode::Success(_)
    ));

    // A wave opening nudges its boxes, each on its own topic.
    let rollout = app.roll_out_to_all(&["x1-firmware@4.2.0"]).await;
    for (s, t) in [(&mut sa, &own), (&mut sb, &own_b)] {
        let p = s
            .next_publish(Duration::from_secs(10))
            .await
            .expect("nudged when the wave opened");
        assert_eq!(&p.topic, t, "only its own nudge");
        let n: Nudge = serde_json::from_slice(&p.payload).expect("a nudge");
        assert_eq!(n.reason, NudgeReason::WaveOpened);
        assert_eq!(n.rollout_id.as_deref(), Some(rollout.as_str()));
    }
    // Nothing from another box's topic follows. A second copy of its own
    // nudge may (QoS 1 redelivery, or a scheduler pass nudging again under
    // load): a nudge carries nothing and only prompts a check-in.
    while let Some(p) = sa.next_publish(Duration::from_millis(300)).await {
        assert_eq!(&p.topic, &own, "nothing but its own nudge");
    }

    // Nudged, the box checks in over HTTPS and learns where the broker is.
    let (_, offer) = a.check_in(app, &root).await;
    assert_eq!(offer.offers.len(), 1);
    assert!(offer.mqtt_url.is_some(), "the answer names the broker");
    let o = &offer.offers[0];
    let report = StatusReport {
        rollout_id: o.rollout_id.clone(),
        bundle_id: o.bundle_id.clone(),
        state: InstallState::Downloading,
        progress: Some(5),
        code: None,
        message: None,
    };

    // A box cannot report for another box...
    // (The session stays up while the broker handles the publish.)
    sa.publish(topic(&b.id, Channel::Status), &report).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        reported(app, &rollout).await,
        0,
        "a forged report for box B landed"
    );
    drop(sa);

    // ...but its own status over MQTT lands like an HTTPS report.
    let sa = connect_box(port, a).await;
    sa.publish(topic(&a.id, Channel::Status), &report).await;
    let mut n = 0;
    for _ in 0..100 {
        n = reported(app, &rollout).await;
        if n > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(n, 1, "box A's own report over MQTT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(reported(app, &rollout).await, 1, "and nothing for box B");
}

async fn on_the_embedded_broker(app: TestApp) {
    let port = app.mqtt_port.expect("the embedded broker runs");
    boxes_reach_only_their_own_topics(&app, port).await;
}

/// Health and faults published over MQTT (QoS 1) are stored as over HTTPS:
/// the series query gives back the values sent, faults reach the fleet
/// problems, a malformed message holds up nothing after it, and a message
/// delivered twice is stored once.
async fn health_and_faults_over_mqtt_are_stored(app: TestApp) {
    let port = app.mqtt_port.expect("the embedded broker runs");
    let boxes = enrol_many(&app, 700, 1, "X1", &[]).await;
    let b = &boxes[0];
    let s = connect_box(port, b).await;
    let t = chrono::Utc::now().timestamp() - 600;
    let health = |id: &str, at: i64, cpu: f64, temp: f64| {
        json!({ "id": id, "type": "health", "at": at, "cpu_percent": cpu, "temperature_c": temp,
                "metrics": { "decoder_errors": cpu / 10.0 } })
    };
    s.client
        .publish(
            topic(&b.id, Channel::Telemetry),
            QoS::AtLeastOnce,
            false,
            b"{not a batch".to_vec(),
        )
        .await
        .expect("queued");
    let batch = json!({ "events": [
        health("h1", t, 11.5, 55.0),
        health("h2", t + 60, 42.0, 61.5),
        health("h3", t + 120, 7.25, 58.0),
    ], "dropped_total": 0 });
    s.publish(topic(&b.id, Channel::Telemetry), &batch).await;
    s.publish(topic(&b.id, Channel::Telemetry), &batch).await;
    s.publish(
        topic(&b.id, Channel::Faults),
        &json!({ "events": [
            { "id": "f1", "type": "fault", "at": t + 130, "code": "SW-DEC-101", "signature": "flush+0x40",
              "installed": [{ "name": "x1-firmware", "version": "4.1.0" }] }
        ], "dropped_total": 0 }),
    )
    .await;

    let url = format!(
        "/api/v1/devices/{}/series?metric=cpu_percent&from={t}&to={}",
        b.serial,
        t + 600
    );
    let mut points = Value::Null;
    for _ in 0..100 {
        points = app.get(&url, Some(&app.admin_token)).await.body["points"].clone();
        if points.as_array().is_some_and(|p| p.len() >= 3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(points, json!([[t, 11.5], [t + 60, 42.0], [t + 120, 7.25]]));
    let temps = app
        .get(
            &url.replace("cpu_percent", "temperature_c"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(
        temps.body["points"],
        json!([[t, 55.0], [t + 60, 61.5], [t + 120, 58.0]])
    );
    let mut problems = Value::Null;
    for _ in 0..50 {
        problems = app
            .get("/api/v1/problems", Some(&app.admin_token))
            .await
            .body;
        if problems.as_array().is_some_and(|p| !p.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(problems[0]["code"], "SW-DEC-101", "{problems}");
    assert_eq!(problems[0]["devices"], 1);
    let events = app
        .get(
            &format!("/api/v1/devices/{}/events?limit=100", b.serial),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(
        events.body["events"].as_array().map(Vec::len),
        Some(4),
        "three health reports once each, one fault: {}",
        events.body
    );
    // The malformed message was counted (and dropped), and held nothing up.
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("wavecast_ingest_refused_total{reason=\"malformed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("wavecast_mqtt_messages_total{channel=\"telemetry\"} 3"),
        "{metrics}"
    );
}

wavecast_e2e::both_backends!(
    configure = server_signs;
    on_the_embedded_broker,
    health_and_faults_over_mqtt_are_stored,
);

fn external(c: &mut Config, url: String) {
    server_signs(c);
    c.mqtt.mode = MqttMode::External;
    c.mqtt.url = Some(SecretUrl(url));
    c.mqtt.provision = MqttProvision::MosquittoDynsec;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_mosquitto_with_dynamic_security() {
    let broker = Mosquitto::start();
    let url = broker.server_url();
    let app = TestApp::spawn_with(Backend::Sqlite, |c| external(c, url))
        .await
        .expect("SQLite");
    boxes_reach_only_their_own_topics(&app, broker.port).await;

    // Decommissioning removes the box's broker account.
    let boxes = enrol_many(&app, 950, 1, "X1", &[]).await;
    drop(connect_box(broker.port, &boxes[0]).await);
    let d = app
        .post(
            &format!("/api/v1/devices/{}/decommission", boxes[0].serial),
            Some(&app.admin_token),
            &json!({}),
        )
        .await;
    assert_eq!(d.status, 200, "{}", d.body);
    let mut refused = false;
    for _ in 0..50 {
        if connect(
            broker.port,
            &boxes[0].id,
            &boxes[0].id,
            &boxes[0].credential,
        )
        .await
        .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused, "a decommissioned box can no longer connect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_carries_on_when_the_broker_is_down_or_mqtt_is_off() {
    // A broker address nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    for mode in [MqttMode::External, MqttMode::Off] {
        let app = TestApp::spawn_with(Backend::Sqlite, |c| {
            server_signs(c);
            c.mqtt.mode = mode;
            c.mqtt.url = Some(SecretUrl(format!("mqtt://127.0.0.1:{dead}")));
        })
        .await
        .expect("SQLite");
        assert_eq!(app.get("/readyz", None).await.status, 200);
        let keys = Keys::new();
        release(&app, &keys).await;
        let root = keys.root.verifying_key();
        let boxes = enrol_many(&app, 970, 1, "X1", &[("x1-firmware", "4.1.0", 1)]).await;
        app.roll_out_to_all(&["x1-firmware@4.2.0"]).await;
        let (_, p) = boxes[0].check_in(&app, &root).await;
        assert_eq!(p.offers.len(), 1, "{mode:?}");
        assert_eq!(p.mqtt_url.is_some(), mode == MqttMode::External, "{mode:?}");
        boxes[0].begin(&app, &p.offers[0]).await;
    }
}
