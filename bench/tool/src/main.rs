//! Benchmark helpers (`bench/checkin.sh` drives them):
//!
//! - `wavecast-bench seed DATABASE_URL N TOKENS_FILE`: migrates the database
//!   and inserts N accepted devices with known credentials (written one per
//!   line to TOKENS_FILE for the load generator), in batches;
//! - `wavecast-bench hello ADDR`: an actix-web hello-world JSON endpoint, the
//!   baseline measured with the same load generator;
//! - `wavecast-bench sql DATABASE_URL STATEMENT`: runs one statement (the
//!   benchmark checkpoints PostgreSQL after seeding).

use std::io::Write;

use sea_orm::{ConnectionTrait, EntityTrait, Set};
use sha2::{Digest, Sha256};
use wavecast_server::{
    config::{DatabaseConfig, SecretUrl},
    db,
    entities::device,
};

/// The inventory every seeded device reports, so check-ins change nothing.
pub const INSTALLED: &str = r#"[{"name":"x1-firmware","version":"4.1.0","security_version":1}]"#;

async fn seed(url: &str, n: u64, tokens: &str) -> anyhow::Result<()> {
    let config = DatabaseConfig {
        url: SecretUrl(url.to_owned()),
        max_connections: 4,
        connect_timeout_secs: 10,
    };
    let conn = db::connect(&config).await?;
    db::migrate(&conn).await?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(tokens)?);
    let installed: serde_json::Value = serde_json::from_str(INSTALLED)?;
    let now = chrono::Utc::now();
    let expires = now + chrono::TimeDelta::days(30);
    let mut start = 0u64;
    while start < n {
        let end = (start + 1000).min(n);
        let mut rows = Vec::with_capacity((end - start) as usize);
        for i in start..end {
            let prefix = format!("wcd_{i:010x}");
            let secret = hex::encode(Sha256::digest(format!("bench-secret-{i}")));
            let token = format!("{prefix}_{secret}");
            writeln!(out, "{token}")?;
            rows.push(device::ActiveModel {
                id: Set(uuid::Uuid::from_u128(
                    0xbe0c_0000_0000_0000_0000_0000_0000_0000 | u128::from(i),
                )),
                serial: Set(format!("BENCH{i:09}")),
                model: Set("X1".into()),
                hardware_revision: Set("A".into()),
                public_key: Set(format!("bench-key-{i}")),
                status: Set("accepted".into()),
                credential_prefix: Set(Some(prefix)),
                credential_hash: Set(Some(hex::encode(Sha256::digest(token.as_bytes())))),
                credential_expires_at: Set(Some(expires)),
                agent_version: Set(Some("bench".into())),
                boot_slot: Set(None),
                timezone: Set(None),
                region: Set(None),
                tags: Set(None),
                installed: Set(Some(installed.clone())),
                subscriber_id: Set(None),
                created_at: Set(now),
                accepted_at: Set(Some(now)),
                last_seen_at: Set(Some(now)),
                changed_at: Set(Some(now)),
            });
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["seed", url, n, tokens] => seed(url, n.parse()?, tokens).await,
        ["hello", addr] => hello(addr).await,
        ["sql", url, statement] => sql(url, statement).await,
        _ => anyhow::bail!("usage: wavecast-bench seed DATABASE_URL N TOKENS_FILE | hello ADDR | sql DATABASE_URL STATEMENT"),
    }
}
