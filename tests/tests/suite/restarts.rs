//! Nothing acknowledged is lost across restarts: simulated boxes send
//! health over MQTT (the real simulator binary) while the server
//! (`wavecast serve`, the real binary) is killed dead and started again,
//! and, with Mosquitto, while the broker is restarted; every event a box
//! had acknowledged, by the broker or over HTTPS, is stored, once. With
//! the embedded broker, the server's restart is the broker's.
//!
//! The server keeps a persistent session at the broker and acknowledges a
//! message only once stored, so what arrived while it was down, or was in
//! flight when it died, is delivered when it is back; its subscriptions
//! are plain ones, which Mosquitto restores after its own restart (shared
//! ones it does not). SQLite: the broker and the restarts are what this
//! tests.

use std::{process::Stdio, time::Duration};

use wavecast_e2e::{
    bin,
    mosquitto::Mosquitto,
    served::{app_for, config_file, kill_dead, serve},
    trust::Keys,
};
use wavecast_protocol::keys::public_key_text;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_event_is_lost_across_restarts_with_mosquitto() {
    let mut broker = Mosquitto::start_with(true);
    let mqtt = format!(
        "mode = \"external\"\nurl = \"{}\"\nprovision = \"mosquitto-dynsec\"\nsession = \"wavecast-restarts-test\"\n",
        broker.server_url()
    );
    count_across_restarts(&mqtt, Some(&mut broker)).await;
}

/// With the embedded broker, restarting the server restarts the broker:
/// it acknowledges a batch only once stored, so a kill loses nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_event_is_lost_across_restarts_with_the_embedded_broker() {
    let mqtt = format!("listen = \"127.0.0.1:{}\"\n", wavecast_e2e::free_port());
    count_across_restarts(&mqtt, None).await;
}

/// Boxes publish while the server is killed dead and restarted (and then
/// `broker`, when given, restarted); every event acknowledged is stored.
async fn count_across_restarts(mqtt: &str, broker: Option<&mut Mosquitto>) {
    let dir = tempfile::tempdir().expect("dir");
    let keys = Keys::new();
    let port = wavecast_e2e::free_port();
    let conf = config_file(
        dir.path(),
        &keys,
        port,
        &format!("[rollouts]\ncheckin_interval_secs = 1\ncheckin_jitter_pct = 0\n[mqtt]\n{mqtt}"),
    );
    let (mut server, token) = serve(&conf);
    let token = token.expect("a first start prints the bootstrap token");
    let address = format!("http://127.0.0.1:{port}");
    let app = app_for(&address, &token);
    keys.publish(&app).await;

    let sim = tokio::process::Command::new(bin::path("wavecast-agent"))
        .arg("simulate")
        .args(["--server", &address, "--token", &token])
        .args(["--root-key", &public_key_text(&keys.root.verifying_key())])
        .args(["--devices", "20", "--threads", "4", "--poll", "1"])
        .args(["--telemetry-secs", "1", "--events-over", "mqtt"])
        .args(["--duration", "30"])
        .stdin(Stdio::null())
        .output();
    let sim = tokio::spawn(sim);

    // The server dies mid-stream; boxes keep publishing to the broker,
    // which queues for the server's session.
    tokio::time::sleep(Duration::from_secs(7)).await;
    kill_dead(&mut server);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (mut server, again) = serve(&conf);
    assert!(again.is_none(), "no second bootstrap");
    // Then the broker restarts: boxes retry what it did not acknowledge.
    tokio::time::sleep(Duration::from_secs(6)).await;
    if let Some(broker) = broker {
        broker.restart();
    }

    let out = sim.await.expect("joined").expect("the simulator runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or_default();
    let sent = bin::count_after(last, "events ");
    let over_mqtt = bin::count_after(last, "(");
    assert!(sent >= 200 && over_mqtt >= sent / 2, "{last}");

    let db = wavecast_server::platform::db::connect(
        &wavecast_server::platform::config::DatabaseConfig {
            url: wavecast_server::platform::config::SecretUrl(format!(
                "sqlite://{}",
                dir.path().join("w.db").display()
            )),
            ..Default::default()
        },
    )
    .await
    .expect("the database");
    let stored = wavecast_e2e::sim::stored_events(&db, sent).await;
    kill_dead(&mut server);
    assert_eq!(
        stored, sent,
        "every acknowledged event stored, once ({over_mqtt} of {sent} over MQTT)"
    );
}
