//! Install status reports, whichever way they arrive (HTTPS or MQTT):
//! validated, checked against what the box was offered, and applied by the
//! pure transition rules of `updates::installs::rules`. Each new state is
//! kept as a step (`install_steps`) beside the latest one, in the same
//! transaction.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use uuid::Uuid;
use wavecast_protocol::status::StatusReport;

use super::rules::{accept, Accept};
use crate::{
    platform::{
        entities::{columns::Stored, device, install_step, rollout_device},
        error::{Error, Result},
    },
    updates::checkin::store::could_have_offered,
};

/// Applies one report from device `d`. Idempotent and safe out of order;
/// impossible transitions are refused (409). A device can only report on a
/// bundle a rollout offered it (or could have, before a pause).
pub async fn apply(
    db: &(impl ConnectionTrait + TransactionTrait),
    d: &device::Model,
    report: StatusReport,
    now: DateTime<Utc>,
) -> Result<()> {
    let parse = |field: &str, v: &str| {
        Uuid::parse_str(v).map_err(|_| Error::Validation(format!("{field} {v:?} is not an id")))
    };
    let rollout_id = parse("rollout_id", &report.rollout_id)?;
    let bundle_id = parse("bundle_id", &report.bundle_id)?;
    if report.progress.is_some_and(|p| p > 100) {
        return Err(Error::Validation("progress is a percentage (0-100)".into()));
    }
    if report.code.as_ref().is_some_and(|c| c.len() > 64)
        || report.message.as_ref().is_some_and(|m| m.len() > 2000)
    {
        return Err(Error::Validation(
            "code is at most 64 and message at most 2000 characters".into(),
        ));
    }
    let txn = db.begin().await?;
    let db = &txn;
    let existing = rollout_device::Entity::find_by_id((rollout_id, d.id, bundle_id))
        .one(db)
        .await?;
    // Reports for a bundle that was never offered to this device are refused:
    // a device cannot write into another device's or an unrelated rollout's status.
    let offered =
        existing.is_some() || could_have_offered(db, d, rollout_id, bundle_id, now).await?;
    if !offered {
        return Err(Error::NotFound("no such offer for this device".into()));
    }
    let current = existing.as_ref().map(|r| *r.state);
    let next = match accept(current, report.state).map_err(Error::Conflict)? {
        Accept::Ignore => return Ok(()),
        Accept::Advance(next) => next,
    };
    let step = Step {
        rollout_id,
        device_id: d.id,
        bundle_id,
        state: next,
        progress: report.progress.map(i32::from),
        code: report.code.clone(),
        message: report.message.clone(),
    };
    match existing {
        Some(row) => {
            let mut m: rollout_device::ActiveModel = row.into();
            m.state = Set(Stored(next));
            m.progress = Set(report.progress.map(i32::from));
            m.code = Set(report.code.clone());
            m.message = Set(report.message.clone());
            m.updated_at = Set(now);
            m.update(db).await?;
        }
        None => {
            rollout_device::ActiveModel {
                rollout_id: Set(rollout_id),
                device_id: Set(d.id),
                bundle_id: Set(bundle_id),
                state: Set(Stored(next)),
                progress: Set(report.progress.map(i32::from)),
                code: Set(report.code.clone()),
                message: Set(report.message.clone()),
                started_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await?;
        }
    }
    record(db, step, now).await?;
    txn.commit().await?;
    Ok(())
}

/// One state an install reached, as [`record`] keeps it.
#[derive(Debug, Clone)]
pub struct Step {
    pub rollout_id: Uuid,
    pub device_id: Uuid,
    pub bundle_id: Uuid,
    pub state: wavecast_protocol::status::InstallState,
    pub progress: Option<i32>,
    pub code: Option<String>,
    pub message: Option<String>,
}

/// Keeps `step` in the install's history.
pub async fn record(db: &impl ConnectionTrait, step: Step, now: DateTime<Utc>) -> Result<()> {
    install_step::ActiveModel {
        rollout_id: Set(step.rollout_id),
        device_id: Set(step.device_id),
        bundle_id: Set(step.bundle_id),
        state: Set(Stored(step.state)),
        progress: Set(step.progress),
        code: Set(step.code),
        message: Set(step.message),
        at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The steps of device `device_id`'s installs in `rollouts`, oldest first.
pub async fn steps_of(
    db: &impl ConnectionTrait,
    device_id: Uuid,
    rollouts: Vec<Uuid>,
) -> Result<Vec<install_step::Model>> {
    Ok(install_step::Entity::find()
        .filter(install_step::Column::DeviceId.eq(device_id))
        .filter(install_step::Column::RolloutId.is_in(rollouts))
        .order_by_asc(install_step::Column::Id)
        .all(db)
        .await?)
}
