//! Three instances (`wavecast serve`, the real binary) over one PostgreSQL,
//! one Mosquitto and one blob directory, behind a round-robin balancer:
//! 200 simulated boxes run a three-wave rollout while the instance holding
//! the scheduler's lease is killed dead in wave 2. Another instance takes
//! the lease within its time, the rollout completes, and nothing is lost
//! or done twice: every update's end is counted, every event the boxes
//! had acknowledged is stored once, no webhook delivery arrives twice and
//! no fault opens a second ticket.

use std::{
    collections::HashMap,
    net::SocketAddr,
    process::Child,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use wavecast_e2e::{
    bin,
    mosquitto::Mosquitto,
    pg,
    served::{app_for, config_file_on, kill_dead, serve},
    trust::{good_bundle, payload, Keys},
    webhook::Sink,
};
use wavecast_server::platform::{
    config::{DatabaseConfig, SecretUrl},
    entities::{lease, ticket},
};

const BOXES: usize = 200;
/// The scheduler's tick; its lease lasts six ticks.
const TICK_MILLIS: u64 = 500;

/// A TCP balancer on loopback: each connection goes to the next backend in
/// turn, skipping any that refuses it (a dead instance).
async fn balancer(backends: Vec<SocketAddr>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let next = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let (backends, n) = (backends.clone(), next.fetch_add(1, Ordering::Relaxed));
            tokio::spawn(async move {
                for k in 0..backends.len() {
                    let to = backends[(n + k) % backends.len()];
                    if let Ok(mut outbound) = TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        return;
                    }
                }
            });
        }
    });
    address
}

/// The process id in a lease's holder (`pid N …`).
fn pid_of(holder: &str) -> Option<u32> {
    holder.strip_prefix("pid ")?.split(' ').next()?.parse().ok()
}

async fn scheduler_holder(db: &DatabaseConnection) -> Option<(u32, chrono::DateTime<chrono::Utc>)> {
    let l = lease::Entity::find_by_id("scheduler".to_owned())
        .one(db)
        .await
        .expect("read the lease")?;
    Some((pid_of(&l.holder)?, l.expires_at))
}

async fn rollout(app: &wavecast_e2e::TestApp, id: &str) -> serde_json::Value {
    let r = app
        .get(&format!("/api/v1/rollouts/{id}"), Some(&app.admin_token))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

/// Runs the fleet's simulator through `server`.
async fn simulate(server: &str, token: &str, keys: &Keys, args: &[&str]) -> String {
    let boxes = BOXES.to_string();
    let mut all = vec![
        "--devices",
        &boxes,
        "--serial-prefix",
        "FO",
        "--threads",
        "8",
    ];
    all.extend_from_slice(args);
    wavecast_e2e::sim::run_at(server, token, keys, &all).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_completes_when_the_scheduler_instance_dies() {
    let pg::Source::Server { admin_url } = pg::source() else {
        return;
    };
    let url = pg::fresh_database(&admin_url).await.expect("a database");
    let broker = Mosquitto::start_with(true);
    let dir = tempfile::tempdir().expect("dir");
    let keys = Keys::new();
    let blobs = dir.path().join("blobs");

    // The first instance migrates the database and creates the admin; the
    // others start on it after.
    let mut instances: Vec<(Child, SocketAddr)> = Vec::new();
    let mut token = None;
    for i in 0..3 {
        let home = dir.path().join(format!("instance-{i}"));
        std::fs::create_dir_all(&home).expect("instance dir");
        let port = wavecast_e2e::free_port();
        let conf = config_file_on(
            &home,
            &keys,
            port,
            &url,
            &blobs,
            &format!(
                "[rollouts]\ncheckin_interval_secs = 1\ncheckin_jitter_pct = 0\n\
                 tick_millis = {TICK_MILLIS}\n\
                 [telemetry]\npresence_flush_secs = 1\n\
                 [tickets]\nwebhook_timeout_secs = 1\n\
                 [mqtt]\nmode = \"external\"\nurl = \"{}\"\nprovision = \"mosquitto-dynsec\"\n\
                 session = \"wavecast-failover-{i}\"\n",
                broker.server_url()
            ),
        );
        let (child, printed) = serve(&conf);
        token = token.or(printed);
        instances.push((child, SocketAddr::from(([127, 0, 0, 1], port))));
    }
    let token = token.expect("the first start prints the bootstrap token");
    let front = format!(
        "http://{}",
        balancer(instances.iter().map(|(_, a)| *a).collect()).await
    );
    let app = app_for(&front, &token);
    let db = wavecast_server::platform::db::connect(&DatabaseConfig {
        url: SecretUrl(url.clone()),
        ..Default::default()
    })
    .await
    .expect("the database");

    keys.publish(&app).await;
    app.upload_and_publish(
        good_bundle(&keys, "x1-firmware", "4.2.0", &payload(64 * 1024, 7)),
        "x1-firmware@4.2.0",
    )
    .await;
    let sink = Sink::start(0);
    let hook = app
        .post(
            "/api/v1/webhooks",
            Some(&token),
            &json!({ "url": sink.url, "events": ["*"] }),
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    // Enrol the fleet first, so the waves are cut over all of it.
    simulate(&front, &token, &keys, &["--duration", "4"]).await;
    let serials: Vec<String> = (0..BOXES).map(|i| format!("FO{i:06}")).collect();
    let r = app
        .post(
            "/api/v1/rollouts",
            Some(&token),
            &json!({
                "name": "4.2.0 across instances",
                "bundles": ["x1-firmware@4.2.0"],
                "target": { "serials": serials },
                "waves": [
                    { "percent": 10, "soak_secs": 1, "success_threshold_pct": 90 },
                    { "percent": 50, "soak_secs": 8, "success_threshold_pct": 90 },
                    { "percent": 100 }
                ],
            }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.body["id"].as_str().expect("id").to_owned();

    let fleet = simulate(
        &front,
        &token,
        &keys,
        &[
            "--telemetry-secs",
            "2",
            "--events-over",
            "mqtt",
            "--fault",
            "HW-HDMI-001",
            "--fault-rate",
            "0.05",
            "--reboot-ms",
            "100",
            "--expect-updates",
            "200",
            "--duration",
            "150",
        ],
    );
    let (line, ()) = tokio::join!(fleet, async {
        // Wave 2 opens: kill the instance that holds the scheduler's lease.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = rollout(&app, &id).await;
            if r["open_waves"] == 2 {
                break;
            }
            assert!(Instant::now() < deadline, "wave 2 never opened: {r}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let (dead, _) = scheduler_holder(&db).await.expect("a scheduler lease");
        let victim = instances
            .iter()
            .position(|(c, _)| c.id() == dead)
            .expect("the lease is held by one of the three instances");
        let killed_at = chrono::Utc::now();
        kill_dead(&mut instances[victim].0);

        // Another instance takes the lease once it expires (six ticks).
        let ttl = chrono::TimeDelta::milliseconds(6 * TICK_MILLIS as i64);
        let taken_over = loop {
            if let Some((pid, _)) = scheduler_holder(&db).await {
                if pid != dead {
                    break chrono::Utc::now();
                }
            }
            assert!(
                chrono::Utc::now() - killed_at < ttl * 3,
                "no instance took the scheduler's lease"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let gap = taken_over - killed_at;
        eprintln!(
            "scheduler lease taken over {} ms after the kill (lease {} ms)",
            gap.num_milliseconds(),
            ttl.num_milliseconds()
        );
        assert!(
            gap <= ttl + chrono::TimeDelta::milliseconds(2 * TICK_MILLIS as i64),
            "taken over within the lease and a tick or two: {gap}"
        );
    });

    let deadline = Instant::now() + Duration::from_secs(30);
    let done = loop {
        let r = rollout(&app, &id).await;
        if r["state"] == "completed" || Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(done["state"], "completed", "{done}\n{line}");
    assert_eq!(done["counts"]["succeeded"], BOXES, "{done}\n{line}");
    assert_eq!(
        bin::count_after(&line, "succeeded "),
        BOXES as u64,
        "{line}"
    );

    // Every event a box had acknowledged is stored, once.
    let sent = bin::count_after(&line, "events ");
    assert!(sent > BOXES as u64, "{line}");
    let stored = wavecast_e2e::sim::stored_events(&db, sent).await;
    assert_eq!(stored, sent, "sent = stored: {line}");

    // One ticket per box with the fault; each delivery arrived once.
    let tickets = ticket::Entity::find()
        .filter(ticket::Column::FaultCode.eq("HW-HDMI-001"))
        .all(&db)
        .await
        .expect("tickets");
    assert!(!tickets.is_empty(), "the faulty boxes opened tickets");
    let mut per_box: HashMap<_, usize> = HashMap::new();
    for t in &tickets {
        *per_box.entry(t.device_id).or_default() += 1;
    }
    assert!(
        per_box.values().all(|&n| n == 1),
        "no fault opened a second ticket: {per_box:?}"
    );
    // Deliveries are made within a second of the event, unless the killed
    // instance held the webhook lease: then once it expires (3 × the
    // delivery timeout + 30 s: a delivery in flight must end before
    // another instance may make it again).
    let deadline = Instant::now() + Duration::from_secs(45);
    let calls = loop {
        let calls = sink.received();
        let opened = calls.iter().filter(|c| c.event == "ticket.opened").count();
        if opened >= tickets.len() || Instant::now() > deadline {
            break calls;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let opened = calls.iter().filter(|c| c.event == "ticket.opened").count();
    assert_eq!(opened, tickets.len(), "one ticket.opened per ticket");
    let mut deliveries: Vec<&str> = calls.iter().map(|c| c.delivery.as_str()).collect();
    deliveries.sort_unstable();
    let all = deliveries.len();
    deliveries.dedup();
    assert_eq!(deliveries.len(), all, "no delivery arrived twice");

    for (child, _) in &mut instances {
        kill_dead(child);
    }
}
