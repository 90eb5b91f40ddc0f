//! Where a rollout's target boxes stand, read once per scheduler pass for
//! both the health gate and the wave tally: each accepted box in the
//! target with its bucket, its install status rows and its outcome.

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{
    store::{outcome, targets, DeviceOutcome, LoadedRollout},
    waves::{bucket, wave_of, WaveTally},
};
use crate::{
    fleet::devices::{
        rules::DeviceStatus,
        store::{installed_of, tags_of},
    },
    platform::{
        entities::{device, rollout_device},
        error::Result,
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
    pub async fn load(db: &impl ConnectionTrait, r: &LoadedRollout) -> Result<Self> {
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
pub async fn current_tally(db: &impl ConnectionTrait, r: &LoadedRollout) -> Result<WaveTally> {
    Ok(Standing::load(db, r).await?.tally(r))
}
