//! A box sending faster than its rate is throttled on its own: over HTTPS
//! it is told to come back later (429 with `Retry-After`, its events kept),
//! over MQTT its extra messages are dropped and counted; other boxes are
//! served as usual.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{json, Value};
use wavecast_e2e::{
    fleet::{enrol_many, Box_},
    trust::server_signs,
    TestApp,
};
use wavecast_protocol::mqtt::{topic, Channel};

fn batch(id: &str) -> Value {
    json!({ "events": [{ "id": id, "type": "health", "at": 1_800_000_000, "cpu_percent": 5.0 }] })
}

async fn post(app: &TestApp, b: &Box_, id: &str) -> wavecast_e2e::app::Answer {
    app.post("/api/v1/device/events", Some(&b.credential), &batch(id))
        .await
}

/// Publishes `n` batches as box `b` and waits for the broker's acks.
async fn publish(port: u16, b: &Box_, n: usize) {
    let mut o = MqttOptions::new(b.id.clone(), "127.0.0.1", port);
    o.set_credentials(b.id.clone(), b.credential.clone());
    let (client, mut events) = AsyncClient::new(o, 16);
    for i in 0..n {
        client
            .publish(
                topic(&b.id, Channel::Telemetry),
                QoS::AtLeastOnce,
                false,
                serde_json::to_vec(&batch(&format!("m{i}"))).expect("json"),
            )
            .await
            .expect("queued");
    }
    let mut acked = 0;
    while acked < n {
        match tokio::time::timeout(Duration::from_secs(10), events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::PubAck(_)))) => acked += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("MQTT: {e}"),
            Err(_) => panic!("{acked} of {n} acknowledged"),
        }
    }
}

async fn a_flooding_box_is_throttled_alone(app: TestApp) {
    let boxes = enrol_many(&app, 900, 3, "X1", &[]).await;
    let (flood, calm) = (&boxes[0], &boxes[1]);
    for i in 0..3 {
        assert_eq!(post(&app, flood, &format!("e{i}")).await.status, 200);
    }
    let refused = post(&app, flood, "e3").await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.content_type, "application/problem+json");
    assert_eq!(
        refused.headers.get("retry-after").map(|v| v.as_bytes()),
        Some(&b"10"[..])
    );
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("faster than its rate")),
        "{}",
        refused.body
    );
    assert_eq!(
        post(&app, calm, "e0").await.status,
        200,
        "another box is served"
    );

    // Over MQTT: the third box's burst of 3 is stored, the rest dropped.
    let port = app.mqtt_port.expect("the embedded broker runs");
    let mqtt_box = &boxes[2];
    publish(port, mqtt_box, 5).await;
    let url = format!("/api/v1/devices/{}/events?limit=100", mqtt_box.id);
    let mut stored = 0;
    let mut text = String::new();
    for _ in 0..100 {
        text = app.metrics_text().await;
        stored = app.get(&url, Some(&app.admin_token)).await.body["events"]
            .as_array()
            .map_or(0, Vec::len);
        if stored == 3 && text.contains("wavecast_ingest_refused_total{reason=\"throttled\"} 3") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stored, 3);
    // One refusal over HTTPS, two over MQTT.
    assert!(
        text.contains("wavecast_ingest_refused_total{reason=\"throttled\"} 3"),
        "{text}"
    );
}

wavecast_e2e::both_backends!(
    configure = |c| {
        server_signs(c);
        c.telemetry.device_burst = 3;
        c.telemetry.device_rate_per_sec = 0.001;
    };
    a_flooding_box_is_throttled_alone
);
