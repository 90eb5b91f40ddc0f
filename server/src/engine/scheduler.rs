//! The rollout scheduler: a background task that, on the instance holding the
//! `scheduler` lease, starts due rollouts, turns silent devices into failures,
//! applies each running rollout's health gate (`engine::gate`: a regression
//! among updated boxes pauses it), tallies its current wave and applies the
//! verdict of `domain::waves::judge` (advance, await approval, pause,
//! complete).
//!
//! The lease is a database row with an expiry, taken with a conditional
//! UPDATE, so with several instances on one database exactly one schedules;
//! when it dies another takes over once the lease expires.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use uuid::Uuid;
use wavecast_protocol::{mqtt::NudgeReason, status::InstallState};

use super::{installed_of, load_in, outcome, tags_of, targets, DeviceOutcome, LoadedRollout};
use crate::{
    audit::{self, Actor, Entry},
    domain::{
        enrolment::DeviceStatus,
        gate::GateVerdict,
        rollout::{wave_specs, RolloutState},
        waves::{bucket, judge, threshold, timed_out, wave_of, Verdict, WaveTally},
    },
    entities::{device, lease, rollout, rollout_device},
    error::{ApiError, ApiResult},
    mqtt::Mqtt,
};

const LEASE: &str = "scheduler";

/// Takes or renews the lease `name` for `holder`; true when it holds it.
pub async fn try_lease(
    db: &impl ConnectionTrait,
    name: &str,
    holder: &str,
    ttl: TimeDelta,
) -> ApiResult<bool> {
    let now = Utc::now();
    let inserted = lease::Entity::insert(lease::ActiveModel {
        name: Set(name.into()),
        holder: Set(holder.into()),
        expires_at: Set(now + ttl),
    })
    .on_conflict(
        OnConflict::column(lease::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await;
    match inserted {
        Ok(_) | Err(sea_orm::DbErr::RecordNotInserted) => {}
        Err(e) => return Err(e.into()),
    }
    let updated = lease::Entity::update_many()
        .col_expr(lease::Column::Holder, Expr::value(holder))
        .col_expr(lease::Column::ExpiresAt, Expr::value(now + ttl))
        .filter(lease::Column::Name.eq(name))
        .filter(
            sea_orm::Condition::any()
                .add(lease::Column::Holder.eq(holder))
                .add(lease::Column::ExpiresAt.lt(now)),
        )
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}

/// Runs `work` every `every` on whichever instance holds the lease `name`
/// (taken or renewed for `ttl` before each run), until the process ends.
pub fn every_on_lease<F, Fut>(
    db: DatabaseConnection,
    name: &'static str,
    every: std::time::Duration,
    ttl: TimeDelta,
    mut work: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let holder = Uuid::new_v4().to_string();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match try_lease(&db, name, &holder, ttl).await {
                Ok(true) => work().await,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, lease = name, "cannot take a lease"),
            }
        }
    })
}

/// Runs the scheduler until the process ends.
pub fn spawn(
    db: DatabaseConnection,
    caches: std::sync::Arc<crate::state::Caches>,
    mqtt: Mqtt,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    let ttl = TimeDelta::from_std(every * 6).unwrap_or(TimeDelta::seconds(30));
    every_on_lease(db.clone(), LEASE, every, ttl, move || {
        let (db, caches, mqtt) = (db.clone(), caches.clone(), mqtt.clone());
        async move {
            match tick(&db, &mqtt, Utc::now()).await {
                Ok(true) => caches.offering.invalidate(),
                Ok(false) => {}
                Err(e) => {
                    // Part of the pass may have landed.
                    caches.offering.invalidate();
                    tracing::error!(error = %e, "rollout scheduler tick failed");
                }
            }
        }
    })
}

async fn record(
    db: &impl ConnectionTrait,
    r: &rollout::Model,
    action: &str,
    details: serde_json::Value,
) -> ApiResult<()> {
    audit::write(
        db,
        Actor::SYSTEM,
        Entry {
            action,
            object_type: "rollout",
            object_id: r.id.to_string(),
            details: Some(details),
        },
    )
    .await
}

/// The accepted devices in a rollout's target, with their buckets.
async fn target_devices(
    db: &impl ConnectionTrait,
    r: &LoadedRollout,
) -> ApiResult<Vec<(device::Model, u32)>> {
    let all = device::Entity::find()
        .filter(device::Column::Status.eq(DeviceStatus::Accepted.as_str()))
        .all(db)
        .await?;
    Ok(all
        .into_iter()
        .filter(|d| targets(r, d, &tags_of(d), &installed_of(d)))
        .map(|d| {
            let b = bucket(r.model.id, d.id);
            (d, b)
        })
        .collect())
}

/// Opens the next wave of a rollout (also used when an operator approves)
/// and returns the devices it let in, to nudge.
pub async fn open_next_wave(
    db: &impl ConnectionTrait,
    r: &LoadedRollout,
    now: DateTime<Utc>,
) -> ApiResult<Vec<Uuid>> {
    let specs = wave_specs(&r.waves)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored waves: {e}")))?;
    let next = r.model.open_waves.max(0) as usize;
    let Some(spec) = specs.get(next) else {
        return Ok(Vec::new());
    };
    let members: Vec<(Uuid, u32)> = target_devices(db, r)
        .await?
        .into_iter()
        .map(|(d, b)| (d.id, b))
        .collect();
    let mut buckets: Vec<u32> = members.iter().map(|(_, b)| *b).collect();
    buckets.sort_unstable();
    let mut thresholds = r.thresholds.clone();
    let t = threshold(spec.size, &buckets).max(thresholds.last().copied().unwrap_or(0));
    thresholds.push(t);
    let mut m: rollout::ActiveModel = r.model.clone().into();
    m.state = Set(RolloutState::Running.as_str().into());
    m.thresholds = Set(serde_json::json!(thresholds));
    m.open_waves = Set(next as i32 + 1);
    m.wave_opened_at = Set(Some(now));
    m.acknowledged_failures = Set(0);
    m.reason = Set(None);
    m.updated_at = Set(now);
    let m = m.update(db).await?;
    record(
        db,
        &m,
        "rollout.wave.open",
        serde_json::json!({ "wave": next + 1, "threshold": t }),
    )
    .await?;
    Ok(members
        .into_iter()
        .filter(|(_, b)| wave_of(*b, &thresholds) == Some(next))
        .map(|(id, _)| id)
        .collect())
}

async fn set_state(
    db: &impl ConnectionTrait,
    r: &rollout::Model,
    to: RolloutState,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let mut m: rollout::ActiveModel = r.clone().into();
    m.state = Set(to.as_str().into());
    m.reason = Set(reason.clone());
    m.updated_at = Set(now);
    let m = m.update(db).await?;
    record(
        db,
        &m,
        &format!("rollout.{}", to.as_str()),
        serde_json::json!({ "reason": reason }),
    )
    .await
}

/// One pass over every rollout that needs attention; true when a rollout
/// changed state or opened a wave.
pub async fn tick(db: &DatabaseConnection, mqtt: &Mqtt, now: DateTime<Utc>) -> ApiResult<bool> {
    let mut changed = false;
    for r in load_in(db, &[RolloutState::Scheduled, RolloutState::Running]).await? {
        changed |= match r.state {
            RolloutState::Scheduled if r.model.starts_at <= now => {
                let opened = open_next_wave(db, &r, now).await?;
                mqtt.nudge(opened, NudgeReason::WaveOpened, Some(r.model.id));
                true
            }
            RolloutState::Running => step(db, mqtt, &r, now).await?,
            _ => false,
        };
    }
    Ok(changed)
}

/// One target device of a rollout as a scheduler pass sees it.
#[derive(Debug)]
pub struct Member {
    pub device: device::Model,
    pub bucket: u32,
    /// Its install status rows for this rollout.
    pub rows: Vec<rollout_device::Model>,
    pub outcome: DeviceOutcome,
}

/// Where a rollout's target devices stand, read once per pass for both the
/// health gate and the wave tally.
#[derive(Debug)]
pub struct Standing {
    pub members: Vec<Member>,
}

impl Standing {
    pub async fn load(db: &impl ConnectionTrait, r: &LoadedRollout) -> ApiResult<Self> {
        let mut by_device: HashMap<Uuid, Vec<rollout_device::Model>> = HashMap::new();
        for row in rollout_device::Entity::find()
            .filter(rollout_device::Column::RolloutId.eq(r.model.id))
            .all(db)
            .await?
        {
            by_device.entry(row.device_id).or_default().push(row);
        }
        let members = target_devices(db, r)
            .await?
            .into_iter()
            .map(|(device, bucket)| {
                let rows = by_device.remove(&device.id).unwrap_or_default();
                let refs: Vec<&rollout_device::Model> = rows.iter().collect();
                let outcome = outcome(r, &device, &installed_of(&device), &refs);
                Member {
                    device,
                    bucket,
                    rows,
                    outcome,
                }
            })
            .collect();
        Ok(Self { members })
    }

    /// How the current wave's devices stand.
    pub fn tally(&self, r: &LoadedRollout) -> WaveTally {
        let current = (r.model.open_waves.max(1) - 1) as usize;
        let mut tally = WaveTally::default();
        for m in &self.members {
            if wave_of(m.bucket, &r.thresholds) != Some(current) {
                continue;
            }
            tally.members += 1;
            match m.outcome {
                DeviceOutcome::Succeeded => tally.succeeded += 1,
                DeviceOutcome::Failed => tally.failed += 1,
                DeviceOutcome::InProgress => tally.in_progress += 1,
            }
        }
        tally
    }
}

/// How the current wave's devices stand.
pub async fn current_tally(db: &impl ConnectionTrait, r: &LoadedRollout) -> ApiResult<WaveTally> {
    Ok(Standing::load(db, r).await?.tally(r))
}

async fn step(
    db: &DatabaseConnection,
    mqtt: &Mqtt,
    r: &LoadedRollout,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    // A device that started and went silent has failed: a bricked box counts.
    let timeout = TimeDelta::seconds(r.model.device_timeout_secs.max(1));
    let rows = rollout_device::Entity::find()
        .filter(rollout_device::Column::RolloutId.eq(r.model.id))
        .all(db)
        .await?;
    for row in &rows {
        let ended = row
            .state
            .parse::<InstallState>()
            .is_ok_and(|s| s.is_terminal());
        if !ended && timed_out(row.updated_at, timeout, now) {
            let mut m: rollout_device::ActiveModel = row.clone().into();
            m.state = Set(InstallState::Failed.as_str().into());
            m.code = Set(Some("timeout".into()));
            m.message = Set(Some(format!("no report for {} s", timeout.num_seconds())));
            m.updated_at = Set(now);
            m.update(db).await?;
        }
    }
    let standing = Standing::load(db, r).await?;
    // A regression on updated boxes pauses the rollout whatever its waves say.
    if let Some(gate) = &r.gate {
        let reading = super::gate::read(db, r, gate, &standing, now).await?;
        tracing::debug!(rollout = %r.model.id, ?reading, "health gate");
        if let GateVerdict::Regressed(reason) = reading.verdict {
            set_state(db, &r.model, RolloutState::Paused, Some(reason), now).await?;
            return Ok(true);
        }
    }
    let specs = wave_specs(&r.waves)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored waves: {e}")))?;
    let current = (r.model.open_waves.max(1) - 1) as usize;
    let Some(spec) = specs.get(current) else {
        set_state(db, &r.model, RolloutState::Completed, None, now).await?;
        return Ok(true);
    };
    let mut tally = standing.tally(r);
    // Failures an operator acknowledged by resuming no longer count.
    let acked = (r.model.acknowledged_failures.max(0) as u32).min(tally.failed);
    tally.failed -= acked;
    tally.members -= acked;
    let opened = r.model.wave_opened_at.unwrap_or(r.model.starts_at);
    match judge(spec, &tally, opened, now, current + 1 == specs.len()) {
        Verdict::Wait { .. } => return Ok(false),
        Verdict::Advance => {
            let opened = open_next_wave(db, r, now).await?;
            mqtt.nudge(opened, NudgeReason::WaveOpened, Some(r.model.id));
        }
        Verdict::AwaitApproval => {
            set_state(db, &r.model, RolloutState::AwaitingApproval, None, now).await?
        }
        Verdict::Pause { reason } => {
            set_state(db, &r.model, RolloutState::Paused, Some(reason), now).await?
        }
        Verdict::Complete => set_state(db, &r.model, RolloutState::Completed, None, now).await?,
    }
    Ok(true)
}
