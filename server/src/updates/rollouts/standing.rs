//! Where a rollout's target boxes stand, read once per scheduler pass (and
//! for `rollout show`) for the health gate, the wave tally and the counts
//! per wave: each accepted box in the target with its bucket, its install
//! status rows, its outcome, whether it checked in since its wave opened
//! and what holds it back. The rules are in [`super::progress`].

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use wavecast_protocol::status::InstallState;

use super::{
    progress::{self, BoxStanding, DeviceOutcome, Held, WaveCounts},
    rules::{wave_specs, DeviceFacts, Target},
    store::{outcome, targets, LoadedRollout},
    waves::{bucket, wave_of, WaveTally},
};
use crate::{
    fleet::devices::{
        rules::DeviceStatus,
        store::{installed_of, tags_of},
    },
    platform::{
        entities::{device, rollout_device},
        error::{Error, Result},
    },
};

/// The accepted devices in a rollout's target, with their buckets.
pub async fn target_devices(
    db: &impl ConnectionTrait,
    r: &LoadedRollout,
) -> Result<Vec<(device::Model, u32)>> {
    let all = device::Entity::find()
        .filter(device::Column::Status.eq(DeviceStatus::Accepted))
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

/// How many accepted boxes `target` matches now (a draft rollout's count).
pub async fn matching(db: &impl ConnectionTrait, target: &Target) -> Result<u64> {
    let all = device::Entity::find()
        .filter(device::Column::Status.eq(DeviceStatus::Accepted))
        .all(db)
        .await?;
    Ok(all
        .iter()
        .filter(|d| {
            target.matches(&DeviceFacts {
                serial: &d.serial,
                model: &d.model,
                revision: &d.hardware_revision,
                region: d.region.as_deref(),
                tags: &tags_of(d),
                installed: &installed_of(d),
            })
        })
        .count() as u64)
}

/// One target device of a rollout as a scheduler pass sees it.
#[derive(Debug)]
pub struct Member {
    pub device: device::Model,
    pub bucket: u32,
    /// Its install status rows for this rollout.
    pub rows: Vec<rollout_device::Model>,
    pub outcome: DeviceOutcome,
    /// What the progress rules need of it.
    pub standing: BoxStanding,
}

/// Where a rollout's target devices stand at `now`.
#[derive(Debug)]
pub struct Standing {
    pub members: Vec<Member>,
    /// Boxes of open waves that never showed up no longer count: the
    /// current wave has been open the rollout's `unreached_after_secs`.
    pub unreached: bool,
    /// When that happens (or happened), if the rollout sets it.
    pub unreached_at: Option<DateTime<Utc>>,
}

impl Standing {
    pub async fn load(
        db: &impl ConnectionTrait,
        r: &LoadedRollout,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let mut by_device: HashMap<Uuid, Vec<rollout_device::Model>> = HashMap::new();
        for row in rollout_device::Entity::find()
            .filter(rollout_device::Column::RolloutId.eq(r.model.id))
            .all(db)
            .await?
        {
            by_device.entry(row.device_id).or_default().push(row);
        }
        let downloading = by_device
            .values()
            .flatten()
            .filter(|row| {
                matches!(
                    *row.state,
                    InstallState::Downloading | InstallState::Downloaded
                )
            })
            .count();
        let at_limit = r
            .model
            .max_concurrent_downloads
            .is_some_and(|limit| downloading as u64 >= limit.max(0) as u64);
        let current = (r.model.open_waves.max(1) - 1) as usize;
        let current_opened = r.model.wave_opened_at.unwrap_or(r.model.starts_at);
        let members = target_devices(db, r)
            .await?
            .into_iter()
            .map(|(device, bucket)| {
                let rows = by_device.remove(&device.id).unwrap_or_default();
                let refs: Vec<&rollout_device::Model> = rows.iter().collect();
                let outcome = outcome(r, &device, &installed_of(&device), &refs);
                // A box of the current wave must have checked in since that
                // wave opened; one of an earlier wave since the rollout began.
                let since = if wave_of(bucket, &r.thresholds) == Some(current) {
                    current_opened
                } else {
                    r.model.starts_at
                };
                let heard = device.last_seen_at.is_some_and(|t| t >= since);
                let held = if r
                    .window
                    .is_some_and(|w| !w.is_open(device.timezone.as_deref(), now))
                {
                    Some(Held::Window)
                } else if at_limit {
                    Some(Held::Concurrency)
                } else {
                    None
                };
                let standing = BoxStanding {
                    bucket,
                    states: rows.iter().map(|row| *row.state).collect(),
                    outcome,
                    heard,
                    held,
                };
                Member {
                    device,
                    bucket,
                    rows,
                    outcome,
                    standing,
                }
            })
            .collect();
        let after = r
            .model
            .unreached_after_secs
            .map(|s| TimeDelta::seconds(s.max(0)));
        let opened = (r.model.open_waves > 0).then_some(current_opened);
        let unreached_at = progress::unreached_at(opened, after);
        Ok(Self {
            members,
            unreached: unreached_at.is_some_and(|at| now >= at),
            unreached_at,
        })
    }

    /// Every wave's counts, the opened ones and those still to come.
    pub fn counts(&self, r: &LoadedRollout) -> Result<Vec<WaveCounts>> {
        let specs = wave_specs(&r.waves)
            .map_err(|e| Error::Internal(anyhow::anyhow!("stored waves: {e}")))?;
        let boxes: Vec<BoxStanding> = self.members.iter().map(|m| m.standing.clone()).collect();
        Ok(progress::wave_counts(
            &specs,
            &r.thresholds,
            r.model.open_waves.max(0) as usize,
            &boxes,
            self.unreached,
        ))
    }

    /// How the current wave's devices stand, for its verdict.
    pub fn tally(&self, r: &LoadedRollout) -> Result<WaveTally> {
        let current = (r.model.open_waves.max(1) - 1) as usize;
        Ok(self
            .counts(r)?
            .get(current)
            .map(progress::tally)
            .unwrap_or_default())
    }
}

/// How the current wave's devices stand.
pub async fn current_tally(
    db: &impl ConnectionTrait,
    r: &LoadedRollout,
    now: DateTime<Utc>,
) -> Result<WaveTally> {
    Standing::load(db, r, now).await?.tally(r)
}
