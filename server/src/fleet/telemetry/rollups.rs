//! The telemetry jobs, on one instance at a time (the `rollup` lease):
//! rolling health reports up by the hour and enforcing retention.
//!
//! A pass finds the boxes and hours that received health reports since the
//! last pass (by `received_at`, so late deliveries from an offline queue
//! are rolled up too), recomputes those hours from the raw reports and
//! upserts them into `health_hourly` with the box's model and firmware.
//! The pass stops a minute short of now so that no transaction still in
//! flight is passed over, and stores where it got to in `job_marks`.
//! Retention then deletes raw health reports, faults and rollups older
//! than their configured days (by when they arrived). Reports arriving for
//! an hour older than the raw retention are stored but not rolled up: that
//! hour's other reports may be gone, and recomputing it would lose them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;
use wavecast_protocol::{
    events::{Event, EventBody},
    manifest::Kind,
};

use super::rules::{hour_of, rollup, EventKind, HOUR};
use crate::{
    fleet::{devices::store::components_of, summary::rules::firmware_of},
    platform::entities::columns::Stored,
    platform::{
        clock::Clock,
        config::TelemetryConfig,
        entities::{bundle, device, device_event, health_hourly, job_mark},
        error::Result,
        jobs::{JobError, Jobs},
        json::to_json,
    },
};

const MARK: &str = "rollup";
/// How far behind now a pass stops: transactions take less than this.
const SETTLE: TimeDelta = TimeDelta::seconds(60);
/// Boxes read per query.
const CHUNK: usize = 200;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub hours: usize,
    pub deleted_raw: u64,
    pub deleted_faults: u64,
    pub deleted_rollups: u64,
}

/// The names of firmware bundles the server knows.
pub async fn firmware_names(db: &impl ConnectionTrait) -> Result<HashSet<String>> {
    Ok(bundle::Entity::find()
        .select_only()
        .column(bundle::Column::Name)
        .filter(bundle::Column::Kind.eq(Stored(Kind::Firmware)))
        .distinct()
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Health reports received up to when are rolled up; None before the
/// first pass.
pub async fn rolled_up_to(db: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>> {
    Ok(job_mark::Entity::find_by_id(MARK)
        .one(db)
        .await?
        .and_then(|m| DateTime::from_timestamp_millis(m.mark)))
}

/// One pass at `now`: rollups up to `now - 1 min`, then retention.
pub async fn pass(
    db: &DatabaseConnection,
    cfg: &TelemetryConfig,
    now: DateTime<Utc>,
) -> Result<Pass, JobError> {
    let mut out = Pass::default();
    let upto = now - SETTLE;
    let mark = job_mark::Entity::find_by_id(MARK)
        .one(db)
        .await?
        .map_or(DateTime::<Utc>::UNIX_EPOCH, |m| {
            DateTime::from_timestamp_millis(m.mark).unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        });
    let days = |n: u32| now - TimeDelta::days(i64::from(n));
    // Hours whose raw reports retention may already have removed cannot be
    // recomputed faithfully: late reports for them are not rolled up.
    let oldest_hour = hour_of(days(cfg.raw_retention_days).timestamp()) + HOUR;
    if upto > mark {
        let dirty: BTreeSet<(Uuid, i64)> = device_event::Entity::find()
            .select_only()
            .column(device_event::Column::DeviceId)
            .column(device_event::Column::At)
            .filter(device_event::Column::Kind.eq(EventKind::Health))
            .filter(device_event::Column::ReceivedAt.gt(mark))
            .filter(device_event::Column::ReceivedAt.lte(upto))
            .into_tuple::<(Uuid, i64)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(d, at)| (d, hour_of(at)))
            .filter(|(_, h)| *h >= oldest_hour)
            .collect();
        let mut by_device: BTreeMap<Uuid, Vec<i64>> = BTreeMap::new();
        for (d, h) in dirty {
            by_device.entry(d).or_default().push(h);
        }
        let names = firmware_names(db).await?;
        let ids: Vec<Uuid> = by_device.keys().copied().collect();
        for chunk in ids.chunks(CHUNK) {
            let devices: HashMap<Uuid, device::Model> = device::Entity::find()
                .filter(device::Column::Id.is_in(chunk.iter().copied()))
                .all(db)
                .await?
                .into_iter()
                .map(|d| (d.id, d))
                .collect();
            for id in chunk {
                let (Some(d), Some(hours)) = (devices.get(id), by_device.get(id)) else {
                    continue;
                };
                out.hours += roll_device(db, d, hours, &names).await?;
            }
        }
        job_mark::Entity::insert(job_mark::ActiveModel {
            name: Set(MARK.into()),
            mark: Set(upto.timestamp_millis()),
        })
        .on_conflict(
            OnConflict::column(job_mark::Column::Name)
                .update_column(job_mark::Column::Mark)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    for (kind, keep, deleted) in [
        (
            EventKind::Health,
            cfg.raw_retention_days,
            &mut out.deleted_raw,
        ),
        (
            EventKind::Fault,
            cfg.fault_retention_days,
            &mut out.deleted_faults,
        ),
    ] {
        *deleted = device_event::Entity::delete_many()
            .filter(device_event::Column::Kind.eq(kind))
            .filter(device_event::Column::ReceivedAt.lt(days(keep)))
            .exec(db)
            .await?
            .rows_affected;
    }
    out.deleted_rollups = health_hourly::Entity::delete_many()
        .filter(health_hourly::Column::Hour.lt(days(cfg.rollup_retention_days).timestamp()))
        .exec(db)
        .await?
        .rows_affected;
    Ok(out)
}

/// Recomputes `hours` of device `d` from its raw reports; returns how many
/// hours it wrote.
async fn roll_device(
    db: &DatabaseConnection,
    d: &device::Model,
    hours: &[i64],
    firmware_names: &HashSet<String>,
) -> Result<usize> {
    let (Some(first), Some(last)) = (hours.first(), hours.last()) else {
        return Ok(0);
    };
    let bodies = device_event::Entity::find()
        .select_only()
        .column(device_event::Column::Body)
        .filter(device_event::Column::DeviceId.eq(d.id))
        .filter(device_event::Column::Kind.eq(EventKind::Health))
        .filter(device_event::Column::At.gte(*first))
        .filter(device_event::Column::At.lt(last.saturating_add(HOUR)))
        .into_tuple::<serde_json::Value>()
        .all(db)
        .await?;
    let mut per_hour: BTreeMap<i64, Vec<wavecast_protocol::events::HealthReport>> = BTreeMap::new();
    for body in bodies {
        // Stored bodies passed validation when they arrived.
        if let Ok(Event {
            body: EventBody::Health(h),
            ..
        }) = serde_json::from_value(body)
        {
            per_hour.entry(hour_of(h.at)).or_default().push(h);
        }
    }
    let firmware = firmware_of(&components_of(d), firmware_names);
    let rows: Vec<health_hourly::ActiveModel> = hours
        .iter()
        .filter_map(|h| {
            let reports = per_hour.get(h)?;
            Some(health_hourly::ActiveModel {
                device_id: Set(d.id),
                hour: Set(*h),
                model: Set(d.model.clone()),
                firmware: Set(firmware.clone()),
                reports: Set(i32::try_from(reports.len()).unwrap_or(i32::MAX)),
                metrics: Set(to_json(&rollup(reports)).ok()?),
            })
        })
        .collect();
    let n = rows.len();
    if n > 0 {
        use health_hourly::Column;
        health_hourly::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([Column::DeviceId, Column::Hour])
                    .update_columns([
                        Column::Model,
                        Column::Firmware,
                        Column::Reports,
                        Column::Metrics,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(n)
}

/// Runs a pass every `rollup_every_secs` on whichever instance holds the
/// `rollup` lease.
pub fn spawn(jobs: &Jobs, db: DatabaseConnection, clock: Clock, cfg: TelemetryConfig) {
    let every = std::time::Duration::from_secs(cfg.rollup_every_secs.max(1));
    let ttl = TimeDelta::from_std(every * 3).unwrap_or(TimeDelta::minutes(15));
    let cfg = std::sync::Arc::new(cfg);
    let job_clock = clock.clone();
    jobs.every_on_lease(db.clone(), clock, MARK, every, ttl, move || {
        let (db, cfg, clock) = (db.clone(), cfg.clone(), job_clock.clone());
        async move {
            let p = pass(&db, &cfg, clock.now()).await?;
            tracing::debug!(?p, "telemetry rollup pass");
            Ok(())
        }
    });
}
