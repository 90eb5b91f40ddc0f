//! The rollout scheduler: a background job that, on the instance holding
//! the `scheduler` lease (`platform::jobs`), starts due rollouts, turns
//! silent devices into failures, applies each running rollout's health gate
//! ([`super::gate_reading`]: a regression among updated boxes pauses it),
//! tallies its current wave ([`super::standing`]) and applies the verdict
//! of [`super::waves::judge`] (advance, await approval, pause, complete).
//!
//! A pass reads every box of a rollout's target. Over a large target that
//! takes a while (seconds for a million boxes), so it reads through the
//! read connections, and a rollout whose pass took long is passed over
//! until four times as long has gone by ([`Pace`]): the scheduler spends at
//! most a fifth of its time on one large rollout, and waves of a million
//! boxes are judged every half minute or so instead of every tick.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set, TransactionTrait,
};
use uuid::Uuid;
use wavecast_protocol::{mqtt::NudgeReason, status::InstallState};

use super::{
    gate::GateVerdict,
    rules::{wave_specs, RolloutState},
    snapshot,
    standing::{target_devices, Standing},
    store::{self, load_in, LoadedRollout},
    view,
    waves::{judge, threshold, timed_out, wave_of, Verdict},
};
use crate::{
    identity::audit::store::{self as audit, Actor, Entry},
    mqtt::Mqtt,
    platform::json::to_json,
    platform::{
        clock::Clock,
        db::Connections,
        entities::{columns::Stored, rollout, rollout_device},
        error::{Error, Result},
        jobs::{JobError, Jobs},
    },
    state::Caches,
    updates::installs::store::{self as installs, Step},
};

const LEASE: &str = "scheduler";

/// How long after it ended a rollout's reading is still refreshed.
const ENDED_FOLLOWED: TimeDelta = TimeDelta::hours(1);

/// A pass shorter than this is not paced.
const QUICK: std::time::Duration = std::time::Duration::from_millis(500);

/// When each slow rollout may be passed over again (wall time: it paces
/// the server's work, not the rollout's clock).
#[derive(Debug, Clone, Default)]
pub struct Pace(Arc<Mutex<HashMap<Uuid, Instant>>>);

impl Pace {
    fn due(&self, id: Uuid) -> bool {
        let mut next = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match next.get(&id) {
            Some(at) if *at > Instant::now() => false,
            Some(_) => {
                next.remove(&id);
                true
            }
            None => true,
        }
    }

    fn took(&self, id: Uuid, started: Instant) {
        let spent = started.elapsed();
        if spent >= QUICK {
            let mut next = self.0.lock().unwrap_or_else(|e| e.into_inner());
            next.insert(id, Instant::now() + spent * 4);
        }
    }
}

/// Runs the scheduler every `every` (and when kicked) until the process
/// ends.
pub fn spawn(
    jobs: &Jobs,
    db: DatabaseConnection,
    reads: DatabaseConnection,
    clock: Clock,
    caches: std::sync::Arc<Caches>,
    mqtt: Mqtt,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    let ttl = TimeDelta::from_std(every * 6).unwrap_or(TimeDelta::seconds(30));
    let job_clock = clock.clone();
    let pace = Pace::default();
    jobs.every_on_lease(db.clone(), clock, LEASE, every, ttl, move || {
        let (db, reads, caches, mqtt, clock, pace) = (
            db.clone(),
            reads.clone(),
            caches.clone(),
            mqtt.clone(),
            job_clock.clone(),
            pace.clone(),
        );
        async move {
            let on = Connections {
                db: &db,
                reads: &reads,
            };
            let changed = tick(on, &mqtt, &pace, clock.now()).await;
            // Part of a failed pass may have landed: reload either way.
            if changed.as_ref().map_or(true, |c| *c) {
                caches.offering.invalidate();
            }
            changed.map(|_| ())
        }
    })
}

async fn record(
    db: &impl ConnectionTrait,
    r: &rollout::Model,
    at: DateTime<Utc>,
    action: &'static str,
    details: &impl serde::Serialize,
) -> Result<()> {
    let entry = Entry::new(action, "rollout", r.id.to_string()).details(details);
    audit::write(db, Actor::SYSTEM, at, entry).await
}

/// What the audit log keeps of a wave opening.
#[derive(Debug, serde::Serialize)]
struct WaveOpened {
    wave: usize,
    threshold: u32,
}

/// What the audit log keeps of a state change the scheduler made.
#[derive(Debug, serde::Serialize)]
struct StateReason {
    reason: Option<String>,
}

/// Opens the next wave of a rollout (also used when an operator approves)
/// and returns the devices it let in, to nudge. The first wave does not
/// open while no box matches the target (None): cut then, a canary of a
/// few boxes would take in every box that enrols later, and an empty
/// rollout would complete at once and offer itself to all of them with no
/// wave to hold it.
pub async fn open_next_wave(
    db: &impl ConnectionTrait,
    r: &LoadedRollout,
    now: DateTime<Utc>,
) -> Result<Option<Vec<Uuid>>> {
    let specs =
        wave_specs(&r.waves).map_err(|e| Error::Internal(anyhow::anyhow!("stored waves: {e}")))?;
    let next = r.model.open_waves.max(0) as usize;
    let Some(spec) = specs.get(next) else {
        return Ok(Some(Vec::new()));
    };
    let members: Vec<(Uuid, u32)> = target_devices(db, r, now)
        .await?
        .into_iter()
        .map(|(d, b)| (d.id, b))
        .collect();
    if next == 0 && members.is_empty() {
        return Ok(None);
    }
    let mut buckets: Vec<u32> = members.iter().map(|(_, b)| *b).collect();
    buckets.sort_unstable();
    let mut thresholds = r.thresholds.clone();
    let t = threshold(spec.size, &buckets).max(thresholds.last().copied().unwrap_or(0));
    thresholds.push(t);
    let mut m: rollout::ActiveModel = r.model.clone().into();
    m.state = Set(RolloutState::Running);
    m.thresholds = Set(to_json(&thresholds)?);
    m.open_waves = Set(next as i32 + 1);
    m.wave_opened_at = Set(Some(now));
    m.acknowledged_failures = Set(0);
    m.reason = Set(None);
    m.updated_at = Set(now);
    let m = m.update(db).await?;
    record(
        db,
        &m,
        now,
        "rollout.wave.open",
        &WaveOpened {
            wave: next + 1,
            threshold: t,
        },
    )
    .await?;
    Ok(Some(
        members
            .into_iter()
            .filter(|(_, b)| wave_of(*b, &thresholds) == Some(next))
            .map(|(id, _)| id)
            .collect(),
    ))
}

/// Moves a rollout to `to`, with its audit entry, in one transaction.
async fn set_state(
    db: &DatabaseConnection,
    r: &rollout::Model,
    to: RolloutState,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<()> {
    let txn = db.begin().await?;
    let mut m: rollout::ActiveModel = r.clone().into();
    m.state = Set(to);
    m.reason = Set(reason.clone());
    m.updated_at = Set(now);
    let m = m.update(&txn).await?;
    record(&txn, &m, now, to.audit_action(), &StateReason { reason }).await?;
    txn.commit().await?;
    Ok(())
}

/// [`open_next_wave`] with its audit entry in one transaction; returns
/// the devices to nudge (None: it did not open).
async fn open_wave(
    db: &DatabaseConnection,
    r: &LoadedRollout,
    now: DateTime<Utc>,
) -> Result<Option<Vec<Uuid>>> {
    let txn = db.begin().await?;
    let opened = open_next_wave(&txn, r, now).await?;
    txn.commit().await?;
    Ok(opened)
}

/// One pass over every rollout that needs attention; true when a rollout
/// changed state or opened a wave.
pub async fn tick(
    on: Connections<'_>,
    mqtt: &Mqtt,
    pace: &Pace,
    now: DateTime<Utc>,
) -> Result<bool, JobError> {
    let db = on.db;
    let mut changed = false;
    // Rollouts it does not step get a fresh reading for the pages now and
    // then.
    let idle: Vec<LoadedRollout> = load_in(
        db,
        &[
            RolloutState::Scheduled,
            RolloutState::Paused,
            RolloutState::AwaitingApproval,
        ],
    )
    .await?
    .into_iter()
    .filter(|r| r.state != RolloutState::Scheduled || r.model.starts_at > now)
    .collect();
    let due = snapshot::idle_due(db, &idle, now).await?;
    // Boxes still report on a rollout that just ended (those a wave's
    // threshold did not wait for): its reading follows them for an hour.
    let ended = store::ended_since(db, now - ENDED_FOLLOWED).await?;
    let refresh = idle
        .iter()
        .filter(|r| due.contains(&r.model.id))
        .chain(&ended);
    for r in refresh {
        if pace.due(r.model.id) {
            let started = Instant::now();
            snapshot::refresh(on, r, now).await?;
            pace.took(r.model.id, started);
        }
    }
    for r in load_in(db, &[RolloutState::Scheduled, RolloutState::Running]).await? {
        changed |= match r.state {
            RolloutState::Scheduled if r.model.starts_at <= now => {
                match open_wave(db, &r, now).await? {
                    Some(opened) => {
                        mqtt.nudge(opened, NudgeReason::WaveOpened, Some(r.model.id));
                        true
                    }
                    None => false,
                }
            }
            RolloutState::Running => {
                expire_silent(db, &r, now).await?;
                if pace.due(r.model.id) {
                    let started = Instant::now();
                    let stepped = step(on, mqtt, &r, now).await?;
                    pace.took(r.model.id, started);
                    stepped
                } else {
                    false
                }
            }
            _ => false,
        };
    }
    Ok(changed)
}

/// A device that started and went silent has failed: a bricked box counts.
async fn expire_silent(
    db: &DatabaseConnection,
    r: &LoadedRollout,
    now: DateTime<Utc>,
) -> Result<()> {
    use rollout_device::Column as C;
    let timeout = TimeDelta::seconds(r.model.device_timeout_secs.max(1));
    let under_way: Vec<Stored<InstallState>> = InstallState::ALL
        .into_iter()
        .filter(|s| !s.is_terminal())
        .map(Stored)
        .collect();
    let rows = rollout_device::Entity::find()
        .filter(C::RolloutId.eq(r.model.id))
        .filter(C::State.is_in(under_way))
        .filter(C::UpdatedAt.lt(now - timeout))
        .all(db)
        .await?;
    for row in &rows {
        if timed_out(row.updated_at, timeout, now) {
            let mut m: rollout_device::ActiveModel = row.clone().into();
            m.state = Set(Stored(InstallState::Failed));
            m.code = Set(Some("timeout".into()));
            m.message = Set(Some(format!("no report for {} s", timeout.num_seconds())));
            m.updated_at = Set(now);
            m.update(db).await?;
            let step = Step {
                rollout_id: row.rollout_id,
                device_id: row.device_id,
                bundle_id: row.bundle_id,
                state: InstallState::Failed,
                progress: None,
                code: Some("timeout".into()),
                message: Some(format!("no report for {} s", timeout.num_seconds())),
            };
            installs::record(db, step, now).await?;
        }
    }
    Ok(())
}

async fn step(
    on: Connections<'_>,
    mqtt: &Mqtt,
    r: &LoadedRollout,
    now: DateTime<Utc>,
) -> Result<bool> {
    let db = on.db;
    let standing = Standing::load(on.reads, r, now).await?;
    let gate_reading = match &r.gate {
        Some(gate) => Some(super::gate_reading::read(on.reads, r, gate, &standing, now).await?),
        None => None,
    };
    // What the pages show until the next pass.
    let found = view::reading(on.reads, r, &standing, gate_reading.as_ref(), now).await?;
    snapshot::save(db, r.model.id, &found, now).await?;
    // A regression on updated boxes pauses the rollout whatever its waves say.
    if let Some(reading) = gate_reading {
        tracing::debug!(rollout = %r.model.id, ?reading, "health gate");
        if let GateVerdict::Regressed(reason) = reading.verdict {
            set_state(db, &r.model, RolloutState::Paused, Some(reason), now).await?;
            return Ok(true);
        }
    }
    let specs =
        wave_specs(&r.waves).map_err(|e| Error::Internal(anyhow::anyhow!("stored waves: {e}")))?;
    let current = (r.model.open_waves.max(1) - 1) as usize;
    let Some(spec) = specs.get(current) else {
        set_state(db, &r.model, RolloutState::Completed, None, now).await?;
        return Ok(true);
    };
    let mut tally = standing.tally(r)?;
    // Failures an operator acknowledged by resuming no longer count.
    let acked = (r.model.acknowledged_failures.max(0) as u32).min(tally.failed);
    tally.failed -= acked;
    tally.members -= acked;
    let opened = r.model.wave_opened_at.unwrap_or(r.model.starts_at);
    match judge(spec, &tally, opened, now, current + 1 == specs.len()) {
        Verdict::Wait { .. } => return Ok(false),
        Verdict::Advance => {
            let opened = open_wave(db, r, now).await?.unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_pass_waits_four_times_as_long_a_quick_one_not_at_all() {
        let pace = Pace::default();
        let (quick, slow) = (Uuid::from_u128(1), Uuid::from_u128(2));
        pace.took(quick, Instant::now());
        assert!(pace.due(quick));
        let started = Instant::now()
            .checked_sub(std::time::Duration::from_secs(2))
            .expect("monotonic clock");
        pace.took(slow, started);
        assert!(!pace.due(slow), "the next pass waits about 8 s");
        assert!(pace.due(quick));
    }
}
