//! Applying a rollout's health gate (`updates::rollouts::gate`) at the SQL edge: each
//! target box's update time (when its install by this rollout succeeded),
//! when it was last heard from (`devices.last_seen_at`, kept by
//! `fleet::presence`) and its faults of the gate's classes since the gate
//! started counting (the rollout's start, or its last resume).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;
use wavecast_protocol::status::InstallState;

use super::{
    gate::{judge, tally, Exposure, GateDevice, GateVerdict, HealthGate},
    progress::DeviceOutcome,
    standing::Standing,
    store::LoadedRollout,
};
use crate::{
    fleet::telemetry::rules::EventKind,
    platform::{
        entities::{device_event, fault_catalog},
        error::Result,
    },
};

/// Both sides' exposure and the verdict, for a rollout with a gate.
#[derive(Debug)]
pub struct GateReading {
    pub updated: Exposure,
    pub baseline: Exposure,
    pub verdict: GateVerdict,
}

/// Reads and judges `gate` for `r` over its target devices as they stand.
pub async fn read(
    db: &impl ConnectionTrait,
    r: &LoadedRollout,
    gate: &HealthGate,
    standing: &Standing,
    now: DateTime<Utc>,
) -> Result<GateReading> {
    let since = r.model.gate_since.unwrap_or(r.model.starts_at).timestamp();
    // Which codes count: those of the gate's classes in the catalog (every
    // code when the gate names no class).
    let counted: Option<Vec<String>> = if gate.classes.is_empty() {
        None
    } else {
        Some(
            fault_catalog::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .filter(|e| gate.counts(e.class))
                .map(|e| e.code)
                .collect(),
        )
    };
    let mut faults: HashMap<Uuid, Vec<i64>> = HashMap::new();
    if counted.as_ref().is_none_or(|c| !c.is_empty()) {
        let mut q = device_event::Entity::find()
            .select_only()
            .column(device_event::Column::DeviceId)
            .column(device_event::Column::At)
            .filter(device_event::Column::Kind.eq(EventKind::Fault))
            .filter(device_event::Column::At.gte(since));
        if let Some(codes) = &counted {
            q = q.filter(device_event::Column::Code.is_in(codes.iter().map(String::as_str)));
        }
        for (id, at) in q.into_tuple::<(Uuid, i64)>().all(db).await? {
            faults.entry(id).or_default().push(at);
        }
    }
    let gate_devices: Vec<GateDevice> = standing
        .members
        .iter()
        .map(|m| {
            let updated_at = (m.outcome == DeviceOutcome::Succeeded)
                .then(|| {
                    m.rows
                        .iter()
                        .filter(|row| *row.state == InstallState::Succeeded)
                        .map(|row| row.updated_at.timestamp())
                        .max()
                })
                .flatten();
            GateDevice {
                updated_at,
                last_seen: m
                    .device
                    .last_seen_at
                    .map(|t| t.timestamp().min(now.timestamp())),
                faults: faults.remove(&m.device.id).unwrap_or_default(),
            }
        })
        .collect();
    let (updated, baseline) = tally(&gate_devices, since);
    Ok(GateReading {
        verdict: judge(gate, &updated, &baseline),
        updated,
        baseline,
    })
}
