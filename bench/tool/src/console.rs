//! The data behind `bench/console.sh`: health reports for a seeded fleet
//! with their hourly rollups, and the install states of a rollout's boxes.
//!
//! Every box gets `reports / devices` reports over the last hour, six
//! minutes apart; the first [`DENSE`] boxes get a report every five
//! minutes for seven days besides (the device pages the benchmark opens).
//! Rollups are computed with the server's own rule and the rollup job's
//! mark is set to now, so the server does not redo them when it starts.

use std::collections::BTreeMap;

use chrono::{TimeDelta, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use wavecast_protocol::{
    events::{Event, EventBody, HealthReport},
    status::InstallState,
};
use wavecast_server::{
    fleet::telemetry::rules::{hour_of, rollup, EventKind},
    platform::entities::{
        columns::Stored, device_event, health_hourly, install_step, job_mark, rollout_bundle,
        rollout_device,
    },
};

use crate::{device_id, open};

/// Boxes with seven days of reports.
pub const DENSE: u64 = 20;
/// Rows per insert statement, statements per transaction.
const ROWS: usize = 1000;
const STATEMENTS: usize = 20;

/// One health report of box `i` at `at`.
fn report(i: u64, at: i64) -> HealthReport {
    // Varied enough that charts have shape; cheap to compute.
    let wave = ((at / 300 + i as i64) % 24) as f32;
    HealthReport {
        at,
        uptime_secs: Some(u64::try_from(at % 2_000_000).unwrap_or(0)),
        cpu_percent: Some(10.0 + wave * 2.0),
        load1: Some(0.2 + wave / 20.0),
        mem_total_kib: Some(1_015_000),
        mem_available_kib: Some(400_000 + u64::from(wave as u32) * 5_000),
        temperature_c: Some(50.0 + wave / 2.0),
        metrics: [("player.decoder_errors".to_owned(), f64::from(wave) / 4.0)].into(),
        ..HealthReport::default()
    }
}

/// Writes rows in batches, in transactions.
pub async fn insert_all<E, A>(
    db: &DatabaseConnection,
    rows: impl IntoIterator<Item = A>,
) -> anyhow::Result<u64>
where
    E: EntityTrait,
    E::Model: sea_orm::IntoActiveModel<A>,
    A: sea_orm::ActiveModelTrait<Entity = E>,
{
    // SQLite takes at most 32,766 values a statement.
    let per = ROWS.min(30_000 / <E::Column as sea_orm::Iterable>::iter().count().max(1));
    let mut rows = rows.into_iter().peekable();
    let mut n = 0u64;
    while rows.peek().is_some() {
        let txn = db.begin().await?;
        for _ in 0..STATEMENTS {
            let chunk: Vec<A> = rows.by_ref().take(per).collect();
            if chunk.is_empty() {
                break;
            }
            n += chunk.len() as u64;
            E::insert_many(chunk).exec_without_returning(&txn).await?;
        }
        txn.commit().await?;
    }
    Ok(n)
}

/// The reports of box `i`: `per` over the last hour, and for a dense box
/// seven days more.
fn reports_of(i: u64, per: u64, now: i64) -> Vec<HealthReport> {
    let mut out: Vec<HealthReport> = (0..per)
        .map(|k| report(i, now - 60 - k as i64 * 360))
        .collect();
    if i < DENSE {
        let week = 7 * 24 * 12;
        out.extend((12..week).map(|k| report(i, now - k * 300)));
    }
    out
}

/// Seeds `reports` health reports over `devices` boxes (ids as the
/// fleet seeding gave them), with their hourly rollups.
pub async fn telemetry(url: &str, devices: u64, reports: u64) -> anyhow::Result<()> {
    let db = open(url).await?;
    let now = Utc::now();
    let per = (reports / devices.max(1)).max(1);
    let started = std::time::Instant::now();
    let (mut raw, mut hourly) = (0u64, 0u64);
    // Per slice of the fleet: the reports, then their rollups.
    for first in (0..devices).step_by(10_000) {
        let last = (first + 10_000).min(devices);
        let mut events = Vec::new();
        let mut hours = Vec::new();
        for i in first..last {
            let all = reports_of(i, per, now.timestamp());
            let mut by_hour: BTreeMap<i64, Vec<&HealthReport>> = BTreeMap::new();
            for h in &all {
                by_hour.entry(hour_of(h.at)).or_default().push(h);
            }
            for (hour, rs) in by_hour {
                hours.push(health_hourly::ActiveModel {
                    device_id: Set(device_id(i)),
                    hour: Set(hour),
                    model: Set(["X1", "X2", "X3"][(i % 3) as usize].to_owned()),
                    firmware: Set(Some(if i % 3 == 0 { "4.2.0" } else { "4.1.0" }.to_owned())),
                    reports: Set(i32::try_from(rs.len()).unwrap_or(i32::MAX)),
                    metrics: Set(serde_json::to_value(rollup(rs))?),
                });
            }
            for h in all {
                let at = h.at;
                let e = Event {
                    id: format!("h{at}"),
                    body: EventBody::Health(h),
                };
                events.push(device_event::ActiveModel {
                    device_id: Set(device_id(i)),
                    event_id: Set(e.id.clone()),
                    kind: Set(EventKind::Health),
                    at: Set(at),
                    received_at: Set(chrono::DateTime::from_timestamp(at, 0).unwrap_or(now)),
                    code: Set(None),
                    body: Set(serde_json::to_value(&e)?),
                });
            }
        }
        raw += insert_all(&db, events).await?;
        hourly += insert_all(&db, hours).await?;
        if first % 100_000 == 0 {
            println!(
                "  {last} boxes, {raw} reports, {hourly} hourly rows ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    job_mark::Entity::delete_by_id("rollup".to_owned())
        .exec(&db)
        .await?;
    job_mark::Entity::insert(job_mark::ActiveModel {
        name: Set("rollup".into()),
        mark: Set(now.timestamp_millis()),
    })
    .exec(&db)
    .await?;
    println!(
        "seeded {raw} health reports and {hourly} hourly rollups in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// How seeded box `i` stands in the benchmark's rollout.
fn state_of(i: u64) -> InstallState {
    match i % 20 {
        0 => InstallState::Failed,
        1 | 2 => InstallState::Downloading,
        3 => InstallState::Installing,
        _ => InstallState::Succeeded,
    }
}

/// Install states (and their steps) for the first `started` accepted boxes
/// in rollout `rollout`: most succeeded, some under way, one in twenty
/// failed.
pub async fn rollout(url: &str, rollout: &str, started: u64) -> anyhow::Result<()> {
    let db = open(url).await?;
    let rollout_id: uuid::Uuid = rollout.parse()?;
    let bundle_id = rollout_bundle::Entity::find()
        .filter(rollout_bundle::Column::RolloutId.eq(rollout_id))
        .one(&db)
        .await?
        .ok_or_else(|| anyhow::anyhow!("rollout {rollout} has no bundle"))?
        .bundle_id;
    let now = Utc::now();
    let boxes = || (0..started).filter(|i| i % 100 != 99);
    let rows = boxes().map(|i| rollout_device::ActiveModel {
        rollout_id: Set(rollout_id),
        device_id: Set(device_id(i)),
        bundle_id: Set(bundle_id),
        state: Set(Stored(state_of(i))),
        progress: Set(None),
        code: Set((state_of(i) == InstallState::Failed).then(|| "verify".to_owned())),
        message: Set(None),
        started_at: Set(now - TimeDelta::minutes(30)),
        updated_at: Set(now - TimeDelta::minutes(5)),
    });
    let n = insert_all(&db, rows).await?;
    let steps = boxes().flat_map(|i| {
        let mut path = vec![InstallState::Downloading];
        match state_of(i) {
            InstallState::Downloading => {}
            InstallState::Installing => path.push(InstallState::Installing),
            last => path.extend([InstallState::Installing, last]),
        }
        path.into_iter()
            .enumerate()
            .map(move |(k, s)| install_step::ActiveModel {
                rollout_id: Set(rollout_id),
                device_id: Set(device_id(i)),
                bundle_id: Set(bundle_id),
                state: Set(Stored(s)),
                progress: Set(None),
                code: Set(None),
                message: Set(None),
                at: Set(now - TimeDelta::minutes(30 - 5 * k as i64)),
                ..Default::default()
            })
    });
    let steps = insert_all(&db, steps).await?;
    db.execute_unprepared("SELECT 1").await?;
    println!("seeded {n} install states and {steps} steps in rollout {rollout}");
    Ok(())
}
