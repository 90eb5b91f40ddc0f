//! Install status reports, whichever way they arrive (HTTPS or MQTT):
//! validated, checked against what the box was offered, and applied by the
//! pure transition rules of `domain::install_state`.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use uuid::Uuid;
use wavecast_protocol::status::{InstallState, StatusReport};

use crate::{
    domain::install_state::{accept, Accept},
    entities::{device, rollout_device},
    error::{ApiError, ApiResult},
};

/// Applies one report from device `d`. Idempotent and safe out of order;
/// impossible transitions are refused (409). A device can only report on a
/// bundle a rollout offered it (or could have, before a pause).
pub async fn apply(
    db: &impl ConnectionTrait,
    d: &device::Model,
    report: StatusReport,
) -> ApiResult<()> {
    let parse = |field: &str, v: &str| {
        Uuid::parse_str(v).map_err(|_| ApiError::Validation(format!("{field} {v:?} is not an id")))
    };
    let rollout_id = parse("rollout_id", &report.rollout_id)?;
    let bundle_id = parse("bundle_id", &report.bundle_id)?;
    if report.progress.is_some_and(|p| p > 100) {
        return Err(ApiError::Validation(
            "progress is a percentage (0-100)".into(),
        ));
    }
    if report.code.as_ref().is_some_and(|c| c.len() > 64)
        || report.message.as_ref().is_some_and(|m| m.len() > 2000)
    {
        return Err(ApiError::Validation(
            "code is at most 64 and message at most 2000 characters".into(),
        ));
    }
    let existing = rollout_device::Entity::find_by_id((rollout_id, d.id, bundle_id))
        .one(db)
        .await?;
    // Reports for a bundle that was never offered to this device are refused:
    // a device cannot write into another device's or an unrelated rollout's status.
    let offered =
        existing.is_some() || super::could_have_offered(db, d, rollout_id, bundle_id).await?;
    if !offered {
        return Err(ApiError::NotFound("no such offer for this device".into()));
    }
    let current = existing
        .as_ref()
        .map(|r| r.state.parse::<InstallState>())
        .transpose()
        .map_err(|e: String| ApiError::Internal(anyhow::anyhow!("stored install state: {e}")))?;
    let now = Utc::now();
    match accept(current, report.state).map_err(ApiError::Conflict)? {
        Accept::Ignore => {}
        Accept::Advance(next) => match existing {
            Some(row) => {
                let mut m: rollout_device::ActiveModel = row.into();
                m.state = Set(next.as_str().into());
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
                    state: Set(next.as_str().into()),
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
