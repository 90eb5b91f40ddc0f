//! Install status reports, whichever way they arrive (HTTPS or MQTT):
//! validated, checked against what the box was offered, and applied by the
//! pure transition rules of `updates::installs::rules`.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;
use wavecast_protocol::status::StatusReport;

use super::rules::{accept, Accept};
use crate::{
    platform::{
        entities::{columns::Stored, device, rollout_device},
        error::{Error, Result},
    },
    updates::checkin::store::could_have_offered,
};

/// Applies one report from device `d`. Idempotent and safe out of order;
/// impossible transitions are refused (409). A device can only report on a
/// bundle a rollout offered it (or could have, before a pause).
pub async fn apply(
    db: &impl ConnectionTrait,
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
    let existing = rollout_device::Entity::find_by_id((rollout_id, d.id, bundle_id))
        .one(db)
        .await?;
    // Reports for a bundle that was never offered to this device are refused:
    // a device cannot write into another device's or an unrelated rollout's status.
    let offered = existing.is_some() || could_have_offered(db, d, rollout_id, bundle_id).await?;
    if !offered {
        return Err(Error::NotFound("no such offer for this device".into()));
    }
    let current = existing.as_ref().map(|r| *r.state);
    match accept(current, report.state).map_err(Error::Conflict)? {
        Accept::Ignore => {}
        Accept::Advance(next) => match existing {
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
        },
    }
    Ok(())
}
