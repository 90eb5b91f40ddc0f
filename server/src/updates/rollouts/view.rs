//! The API's view of a rollout: its plan and counts ([`view`], cheap, for
//! lists) and, for one rollout, where its boxes stand, what it waits for
//! and its health gate's figures ([`detail`]).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wavecast_protocol::status::InstallState;

use super::{
    gate,
    gate::GateFigures,
    gate_reading::{self, GateReading},
    progress::{self, Moment, WaveCounts},
    rules::{wave_specs, RolloutState},
    standing::Standing,
    store::{load, LoadedRollout},
    waves::{judge, Verdict},
};

use crate::{
    platform::{
        entities::{rollout, rollout_device},
        error::{Error, Result},
    },
    updates::views::{RolloutCounts, RolloutProgress, RolloutView},
};

/// What a reading of a rollout's boxes found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// Boxes that reported, by outcome.
    pub counts: RolloutCounts,
    /// Every wave's boxes by stage.
    pub waves: Vec<WaveCounts>,
    /// Accepted boxes the target matched.
    pub target_size: u64,
    /// When boxes not heard from stop counting, if the rollout says so.
    pub unreached_at: Option<DateTime<Utc>>,
    /// The health gate's figures, for a rollout with a gate.
    pub gate: Option<GateFigures>,
}

/// A rollout with its counts, without progress (for lists).
pub async fn view(db: &impl ConnectionTrait, r: rollout::Model) -> Result<RolloutView> {
    let loaded = load(db, r).await?;
    let counts = counts(db, loaded.model.id).await?;
    Ok(shape(&loaded, counts, None))
}

/// A rollout with its counts and progress at `now`, read from every box
/// of its target (the API's answer; pages use the scheduler's latest
/// reading, `snapshot`).
pub async fn detail(
    db: &impl ConnectionTrait,
    r: rollout::Model,
    now: DateTime<Utc>,
) -> Result<RolloutView> {
    let loaded = load(db, r).await?;
    let standing = Standing::load(db, &loaded, now).await?;
    let reading = reading(db, &loaded, &standing, None, now).await?;
    with_reading(&loaded, &reading, now)
}

/// `loaded` with the counts and progress of `reading`, at `now`.
pub fn with_reading(
    loaded: &LoadedRollout,
    reading: &Reading,
    now: DateTime<Utc>,
) -> Result<RolloutView> {
    let progress = progress(loaded, reading, now)?;
    Ok(shape(loaded, reading.counts.clone(), Some(progress)))
}

/// `loaded` with no counts or progress (not read yet).
pub fn without_reading(loaded: &LoadedRollout) -> RolloutView {
    shape(loaded, RolloutCounts::default(), None)
}

/// Boxes that reported, by outcome.
async fn counts(db: &impl ConnectionTrait, rollout_id: Uuid) -> Result<RolloutCounts> {
    let rows = rollout_device::Entity::find()
        .filter(rollout_device::Column::RolloutId.eq(rollout_id))
        .all(db)
        .await?;
    let mut per_device: HashMap<Uuid, Vec<InstallState>> = HashMap::new();
    for row in &rows {
        per_device
            .entry(row.device_id)
            .or_default()
            .push(*row.state);
    }
    let mut counts = RolloutCounts::default();
    for states in per_device.values() {
        counts.reported += 1;
        if states
            .iter()
            .any(|s| matches!(s, InstallState::Failed | InstallState::RolledBack))
        {
            counts.failed += 1;
        } else if states.iter().all(|s| *s == InstallState::Succeeded) {
            counts.succeeded += 1;
        } else {
            counts.in_progress += 1;
        }
    }
    Ok(counts)
}

/// What the boxes of `r` say as `standing` found them; `gate`: the health
/// gate's reading if the caller already made it.
pub async fn reading(
    db: &impl ConnectionTrait,
    r: &LoadedRollout,
    standing: &Standing,
    gate: Option<&GateReading>,
    now: DateTime<Utc>,
) -> Result<Reading> {
    let gate = match (&r.gate, gate) {
        (Some(g), Some(reading)) => Some(gate::figures(g, &reading.updated, &reading.baseline)),
        (Some(g), None) => {
            let reading = gate_reading::read(db, r, g, standing, now).await?;
            Some(gate::figures(g, &reading.updated, &reading.baseline))
        }
        (None, _) => None,
    };
    Ok(Reading {
        counts: standing.reported.clone(),
        waves: standing.counts(r)?,
        target_size: standing.members.len() as u64,
        unreached_at: standing.unreached_at,
        gate,
    })
}

/// Where `r` stands at `now` by `reading`: its soak, what it waits for.
/// Pure: the rollout's state and clock come from `r` and `now`, so an
/// older reading still says what the rollout waits for now.
pub fn progress(
    r: &LoadedRollout,
    reading: &Reading,
    now: DateTime<Utc>,
) -> Result<RolloutProgress> {
    let waves = reading.waves.clone();
    let specs =
        wave_specs(&r.waves).map_err(|e| Error::Internal(anyhow::anyhow!("stored waves: {e}")))?;
    let current = (r.model.open_waves.max(1) - 1) as usize;
    let opened = r.model.wave_opened_at.unwrap_or(r.model.starts_at);
    let running = r.state == RolloutState::Running;
    let soak_ends_at = specs
        .get(current)
        .filter(|spec| running && spec.soak > chrono::TimeDelta::zero())
        .map(|spec| opened + spec.soak);
    let wave_waits = match (specs.get(current), waves.get(current)) {
        (Some(spec), Some(counts)) if running => {
            let mut tally = progress::tally(counts);
            let acked = (r.model.acknowledged_failures.max(0) as u32).min(tally.failed);
            tally.failed -= acked;
            tally.members -= acked;
            matches!(
                judge(spec, &tally, opened, now, current + 1 == specs.len()),
                Verdict::Wait { .. }
            )
        }
        _ => false,
    };
    let waiting = progress::waiting(&Moment {
        state: r.state,
        starts_at: r.model.starts_at,
        target_size: reading.target_size,
        soak_ends_at,
        current: waves.get(current),
        wave_waits,
        unreached_at: reading.unreached_at,
        now,
    });
    Ok(RolloutProgress {
        target_size: reading.target_size,
        not_heard_from: waves.iter().map(|w| w.not_heard_from).sum(),
        not_reached: waves.iter().map(|w| w.not_reached).sum(),
        not_entitled: waves.iter().map(|w| w.not_entitled).sum(),
        waves,
        soak_ends_at,
        unreached_at: reading.unreached_at,
        waiting_reason: waiting.as_ref().map(progress::Waiting::describe),
        waiting,
        gate: reading.gate.clone(),
    })
}

fn shape(
    loaded: &LoadedRollout,
    counts: RolloutCounts,
    progress: Option<RolloutProgress>,
) -> RolloutView {
    let m = &loaded.model;
    RolloutView {
        id: m.id,
        name: m.name.clone(),
        state: loaded.state,
        reason: m.reason.clone(),
        bundles: loaded
            .bundles
            .iter()
            .map(|b| format!("{}@{}", b.manifest.name, b.manifest.version))
            .collect(),
        target: loaded.target.clone(),
        waves: loaded.waves.clone(),
        open_waves: m.open_waves.max(0) as u32,
        wave_opened_at: m.wave_opened_at,
        starts_at: m.starts_at,
        device_timeout_secs: m.device_timeout_secs.max(0) as u64,
        allow_downgrade: m.allow_downgrade,
        window: loaded.window,
        max_concurrent_downloads: m.max_concurrent_downloads.map(|n| n.max(0) as u32),
        health_gate: loaded.gate.clone(),
        rollback_of: m.rollback_of,
        counts,
        progress,
        unreached_after_secs: m.unreached_after_secs.map(|s| s.max(0) as u64),
        keep_offering: m.keep_offering,
        created_by: m.created_by.clone(),
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}
