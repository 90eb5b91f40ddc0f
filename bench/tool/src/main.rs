//! Benchmark helpers (`bench/checkin.sh` drives them):
//!
//! - `wavecast-bench seed DATABASE_URL N TOKENS_FILE`: migrates the database
//!   and inserts N accepted devices with known credentials (written one per
//!   line to TOKENS_FILE for the load generator), in batches;
//! - `wavecast-bench hello ADDR`: an actix-web hello-world JSON endpoint, the
//!   baseline measured with the same load generator;
//! - `wavecast-bench sql DATABASE_URL STATEMENT`: runs one statement (the
//!   benchmark checkpoints PostgreSQL after seeding);
//! - `wavecast-bench publish HOST:PORT TOKENS_FILE DEVICES MESSAGES REPORTS`
//!   (`bench/ingest.sh`): DEVICES seeded boxes each connect to the broker
//!   as themselves and publish MESSAGES event batches of REPORTS health
//!   reports at QoS 1, as fast as the broker acknowledges;
//! - `wavecast-bench insert DATABASE_URL DEVICES MESSAGES REPORTS`: the
//!   baseline: the same rows written by plain batched inserts (1,000 rows
//!   a statement, 2,000 a transaction, as the server's writer) into a
//!   migrated database; prints rows per second;
//! - `wavecast-bench console-seed DATABASE_URL DEVICES REPORTS TOKENS_FILE`
//!   (`bench/console.sh`): a mixed fleet of DEVICES boxes and REPORTS health
//!   reports with their hourly rollups ([`console`]);
//! - `wavecast-bench console-rollout DATABASE_URL ROLLOUT_ID STARTED`: the
//!   install states of STARTED boxes in a rollout;
//! - `wavecast-bench desk-seed DATABASE_URL DEVICES TICKETS OPEN`: support
//!   agents, subscribers owning the seeded boxes, and TICKETS tickets of
//!   which the newest OPEN are active ([`desk`]);
//! - `wavecast-bench desk-sweep DATABASE_URL OPEN DUE` (`bench/sweep.sh`):
//!   times the SLA sweep over OPEN active tickets of which DUE fall due,
//!   against reading every active ticket.

use std::io::Write;

mod console;
mod desk;

use sea_orm::{ConnectionTrait, EntityTrait, Set};
use sha2::{Digest, Sha256};
use wavecast_server::platform::{
    config::{DatabaseConfig, SecretUrl},
    db,
    entities::device,
};

/// The inventory every seeded device reports, so check-ins change nothing.
pub const INSTALLED: &str = r#"[{"name":"x1-firmware","version":"4.1.0","security_version":1}]"#;

/// How seeded devices differ from one another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variety {
    /// All alike, and all reporting [`INSTALLED`] (check-ins change nothing).
    Same,
    /// A fleet as the console sees one (`bench/console.sh`): three models,
    /// two revisions, twelve regions, tags on some, 4.1.0 on most and
    /// 4.2.0 on a third, most boxes online, one in a hundred pending.
    Mixed,
}

/// Migrates the database at `url` and connects to it.
pub async fn open(url: &str) -> anyhow::Result<sea_orm::DatabaseConnection> {
    open_with(url, 4).await
}

/// [`open`] with a pool of `connections`.
pub async fn open_with(url: &str, connections: u32) -> anyhow::Result<sea_orm::DatabaseConnection> {
    let config = DatabaseConfig {
        url: SecretUrl(url.to_owned()),
        max_connections: connections,
        connect_timeout_secs: 10,
    };
    let conn = db::connect(&config).await?;
    db::migrate(&conn).await?;
    Ok(conn)
}

/// Device number `i` of a seeded fleet.
fn device_row(
    i: u64,
    token: &str,
    prefix: String,
    variety: Variety,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<device::ActiveModel> {
    use wavecast_server::fleet::devices::rules::DeviceStatus;
    let mixed = variety == Variety::Mixed;
    let pick = |n: u64, of: &'static [&'static str]| of[(n % of.len() as u64) as usize];
    let installed: serde_json::Value = if mixed && i % 3 == 0 {
        serde_json::from_str(&INSTALLED.replace("4.1.0", "4.2.0"))?
    } else {
        serde_json::from_str(INSTALLED)?
    };
    let seen = if mixed && i % 10 == 9 {
        now - chrono::TimeDelta::days(2)
    } else {
        now
    };
    Ok(device::ActiveModel {
        id: Set(device_id(i)),
        serial: Set(format!("BENCH{i:09}")),
        model: Set(if mixed {
            pick(i, &["X1", "X2", "X3"])
        } else {
            "X1"
        }
        .into()),
        hardware_revision: Set(if mixed { pick(i / 3, &["A", "B"]) } else { "A" }.into()),
        public_key: Set(format!("bench-key-{i}")),
        status: Set(if mixed && i % 100 == 99 {
            DeviceStatus::Pending
        } else {
            DeviceStatus::Accepted
        }),
        credential_prefix: Set(Some(prefix)),
        credential_hash: Set(Some(hex::encode(Sha256::digest(token.as_bytes())))),
        credential_expires_at: Set(Some(now + chrono::TimeDelta::days(30))),
        agent_version: Set(Some("bench".into())),
        boot_slot: Set(None),
        timezone: Set(None),
        region: Set(mixed.then(|| {
            pick(
                i / 7,
                &[
                    "north", "south", "east", "west", "centre", "coast", "hills", "lakes",
                    "islands", "capital", "valley", "plains",
                ],
            )
            .to_owned()
        })),
        tags: Set((mixed && i % 5 == 0).then(|| serde_json::json!(["lab"]))),
        installed: Set(Some(installed)),
        subscriber_id: Set(None),
        created_at: Set(now),
        accepted_at: Set(Some(now)),
        last_seen_at: Set(Some(seen)),
        changed_at: Set(Some(now)),
        activated_at: Set(None),
        warranty_void_reason: Set(None),
        replaced_by: Set(None),
        client: Set(Default::default()),
    })
}

/// Inserts `n` devices with known credentials (written one per line to
/// `tokens`), in batches.
async fn seed(url: &str, n: u64, tokens: &str, variety: Variety) -> anyhow::Result<()> {
    let conn = open(url).await?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(tokens)?);
    let now = chrono::Utc::now();
    let mut start = 0u64;
    while start < n {
        let end = (start + 1000).min(n);
        let mut rows = Vec::with_capacity((end - start) as usize);
        for i in start..end {
            let prefix = format!("wcd_{i:010x}");
            let secret = hex::encode(Sha256::digest(format!("bench-secret-{i}")));
            let token = format!("{prefix}_{secret}");
            writeln!(out, "{token}")?;
            rows.push(device_row(i, &token, prefix, variety, now)?);
        }
        device::Entity::insert_many(rows)
            .exec_without_returning(&conn)
            .await?;
        start = end;
    }
    out.flush()?;
    conn.execute_unprepared("SELECT 1").await?;
    println!("seeded {n} devices");
    Ok(())
}

async fn hello(addr: &str) -> anyhow::Result<()> {
    use actix_web::{web, App, HttpResponse, HttpServer};
    HttpServer::new(|| {
        App::new().route(
            "/hello",
            // It reads the request body as the check-in does: an unread body
            // makes actix close the connection instead of keeping it alive.
            web::post().to(|body: web::Bytes| async move {
                HttpResponse::Ok().json(serde_json::json!({ "hello": "world", "read": body.len() }))
            }),
        )
    })
    .bind(addr)?
    .run()
    .await?;
    Ok(())
}

/// Runs one SQL statement (e.g. `CHECKPOINT` after seeding).
async fn sql(url: &str, statement: &str) -> anyhow::Result<()> {
    let config = DatabaseConfig {
        url: SecretUrl(url.to_owned()),
        max_connections: 1,
        connect_timeout_secs: 10,
    };
    let conn = db::connect(&config).await?;
    conn.execute_unprepared(statement).await?;
    Ok(())
}

/// The events device `d` sends in message `m`: `reports` health reports.
fn batch(d: u64, m: u64, reports: u64) -> wavecast_protocol::events::EventBatch {
    use wavecast_protocol::events::{Event, EventBatch, EventBody, HealthReport};
    let at = 1_800_000_000 + (m * reports) as i64;
    EventBatch {
        events: (0..reports)
            .map(|r| Event {
                id: format!("b{d}-{m}-{r}"),
                body: EventBody::Health(HealthReport {
                    at: at + r as i64,
                    uptime_secs: Some(1000 + m * reports + r),
                    cpu_percent: Some(12.5),
                    load1: Some(0.4),
                    mem_total_kib: Some(1_015_000),
                    mem_available_kib: Some(500_000),
                    temperature_c: Some(55.0),
                    metrics: [
                        ("player.decoder_errors".to_owned(), 1.0),
                        ("player.buffer_underruns".to_owned(), 2.0),
                    ]
                    .into(),
                    ..HealthReport::default()
                }),
            })
            .collect(),
        dropped_total: 0,
    }
}

/// The id of seeded device number `i`.
pub fn device_id(i: u64) -> uuid::Uuid {
    uuid::Uuid::from_u128(0xbe0c_0000_0000_0000_0000_0000_0000_0000 | u128::from(i))
}

async fn publish(
    addr: &str,
    tokens: &str,
    devices: u64,
    messages: u64,
    reports: u64,
) -> anyhow::Result<()> {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| anyhow::anyhow!("HOST:PORT"))?;
    let port: u16 = port.parse()?;
    let tokens: Vec<String> = std::fs::read_to_string(tokens)?
        .lines()
        .take(usize::try_from(devices)?)
        .map(str::to_owned)
        .collect();
    anyhow::ensure!(tokens.len() as u64 == devices, "too few tokens");
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let id = device_id(i as u64).to_string();
        let mut o = MqttOptions::new(id.clone(), host, port);
        o.set_credentials(id.clone(), token);
        o.set_keep_alive(std::time::Duration::from_secs(60));
        o.set_max_packet_size(64 * 1024, 64 * 1024);
        o.set_inflight(20);
        let (client, mut events) = AsyncClient::new(o, 64);
        let topic =
            wavecast_protocol::mqtt::topic(&id, wavecast_protocol::mqtt::Channel::Telemetry);
        tasks.push(tokio::spawn(async move {
            let payloads: Vec<Vec<u8>> = (0..messages)
                .map(|m| serde_json::to_vec(&batch(i as u64, m, reports)).unwrap_or_default())
                .collect();
            let sender = tokio::spawn(async move {
                for p in payloads {
                    if client
                        .publish(topic.clone(), QoS::AtLeastOnce, false, p)
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
            });
            let mut acked = 0;
            while acked < messages {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                    Ok(_) => {}
                    Err(e) => anyhow::bail!("device {i}: {e}"),
                }
            }
            let _ = sender.await;
            Ok::<_, anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let total = devices * messages * reports;
    println!(
        "published {total} reports in {} messages in {secs:.2} s ({:.0} reports/s acknowledged by the broker)",
        devices * messages,
        total as f64 / secs
    );
    Ok(())
}

async fn insert(url: &str, devices: u64, messages: u64, reports: u64) -> anyhow::Result<()> {
    use sea_orm::TransactionTrait;
    use wavecast_server::platform::entities::device_event;
    let config = DatabaseConfig {
        url: SecretUrl(url.to_owned()),
        max_connections: 1,
        connect_timeout_secs: 10,
    };
    let conn = db::connect(&config).await?;
    let now = chrono::Utc::now();
    // Built before the clock starts: the baseline times the database alone.
    let mut rows = Vec::new();
    for m in 0..messages {
        for d in 0..devices {
            for e in batch(d, m, reports).events {
                rows.push(device_event::ActiveModel {
                    device_id: Set(device_id(d)),
                    event_id: Set(e.id.clone()),
                    kind: Set(wavecast_server::fleet::telemetry::rules::EventKind::Health),
                    at: Set(e.at()),
                    received_at: Set(now),
                    code: Set(None),
                    body: Set(serde_json::to_value(&e)?),
                });
            }
        }
    }
    let total = rows.len();
    let started = std::time::Instant::now();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let txn = conn.begin().await?;
        for _ in 0..2 {
            let chunk: Vec<_> = rows.by_ref().take(1000).collect();
            if chunk.is_empty() {
                break;
            }
            device_event::Entity::insert_many(chunk)
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "inserted {total} rows in {secs:.2} s ({:.0} rows/s)",
        total as f64 / secs
    );
    println!("RESULT insert {}", total as f64 / secs);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["seed", url, n, tokens] => seed(url, n.parse()?, tokens, Variety::Same).await,
        ["console-seed", url, n, reports, tokens] => {
            seed(url, n.parse()?, tokens, Variety::Mixed).await?;
            console::telemetry(url, n.parse()?, reports.parse()?).await
        }
        ["console-rollout", url, rollout, started] => {
            console::rollout(url, rollout, started.parse()?).await
        }
        ["desk-seed", url, devices, tickets, open] => {
            desk::seed(url, devices.parse()?, tickets.parse()?, open.parse()?).await
        }
        ["desk-sweep", url, open, due] => desk::sweep_time(url, open.parse()?, due.parse()?).await,
        ["hello", addr] => hello(addr).await,
        ["sql", url, statement] => sql(url, statement).await,
        ["publish", addr, tokens, d, m, r] => {
            publish(addr, tokens, d.parse()?, m.parse()?, r.parse()?).await
        }
        ["insert", url, d, m, r] => insert(url, d.parse()?, m.parse()?, r.parse()?).await,
        _ => anyhow::bail!("usage: wavecast-bench seed DATABASE_URL N TOKENS_FILE | hello ADDR | sql DATABASE_URL STATEMENT | publish HOST:PORT TOKENS_FILE DEVICES MESSAGES REPORTS | insert DATABASE_URL DEVICES MESSAGES REPORTS | console-seed DATABASE_URL DEVICES REPORTS TOKENS_FILE | console-rollout DATABASE_URL ROLLOUT_ID STARTED | desk-seed DATABASE_URL DEVICES TICKETS OPEN | desk-sweep DATABASE_URL OPEN DUE"),
    }
}
