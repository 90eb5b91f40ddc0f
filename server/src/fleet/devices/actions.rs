//! What operators do to boxes, for the REST API and the console alike:
//! accept, reject or decommission one (with its audit entry; the device
//! directory and the MQTT broker follow), place one (region and tags), and
//! import pre-authorised
//! serials from a manufacturing CSV: parsed all or nothing, previewed
//! (what would change), then applied in one audited transaction.

use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};

use super::{
    csv::SerialRow,
    rules::{self, DeviceAction, DeviceStatus},
    store::find,
};
use crate::{
    fleet::views::{DevicePlacement, ImportResult},
    identity::{
        audit::store::{audited, Entry},
        caller::Caller,
    },
    platform::{
        entities::{device, preauthorized_serial},
        error::{Error, Result},
        json::to_json,
    },
    state::AppState,
};

/// What the audit log keeps of a status change.
#[derive(Debug, serde::Serialize)]
struct StatusChange {
    from: DeviceStatus,
    to: DeviceStatus,
}

/// Applies `action` to the box `reference` names, as `caller`.
pub async fn act(
    state: &AppState,
    caller: &Caller,
    reference: &str,
    action: DeviceAction,
) -> Result<device::Model> {
    let d = find(&state.db, reference).await?;
    let from = d.status;
    let to = from.apply(action).map_err(Error::Conflict)?;
    let now = state.clock.now();
    let updated = audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            let serial = d.serial.clone();
            let mut m: device::ActiveModel = d.into();
            m.status = Set(to);
            m.changed_at = Set(Some(now));
            if to == DeviceStatus::Accepted && from == DeviceStatus::Pending {
                m.accepted_at = Set(Some(now));
            }
            if to == DeviceStatus::Decommissioned {
                // Its credential stops working at once.
                m.credential_prefix = Set(None);
                m.credential_hash = Set(None);
                m.credential_expires_at = Set(None);
            }
            let m = m.update(txn).await?;
            let entry =
                Entry::new(to.audit_action(), "device", serial).details(&StatusChange { from, to });
            Ok((m, entry))
        })
    })
    .await?;
    state.directory.put(&updated);
    if to == DeviceStatus::Decommissioned {
        state.mqtt.remove_device(updated.id);
    }
    Ok(updated)
}

/// Sets where box `reference` is and its tags (what `p` names), as
/// `caller`: checked first, then stored with its audit entry; the device
/// directory follows, so check-ins target it by them at once.
pub async fn place(
    state: &AppState,
    caller: &Caller,
    reference: &str,
    p: DevicePlacement,
) -> Result<device::Model> {
    let region = match p.region {
        Some(Some(r)) => Some(Some(rules::region(&r).map_err(Error::Validation)?)),
        other => other,
    };
    let tags = match p.tags {
        Some(t) => Some(rules::tags(&t).map_err(Error::Validation)?),
        None => None,
    };
    let stored_tags = tags.as_ref().map(to_json).transpose()?;
    let d = find(&state.db, reference).await?;
    let now = state.clock.now();
    let checked = DevicePlacement {
        region: region.clone(),
        tags: tags.clone(),
    };
    let updated = audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            let serial = d.serial.clone();
            let mut m: device::ActiveModel = d.into();
            if let Some(r) = region {
                m.region = Set(r);
            }
            if let Some(t) = stored_tags {
                m.tags = Set(Some(t));
            }
            m.changed_at = Set(Some(now));
            let m = m.update(txn).await?;
            let entry = Entry::new("device.place", "device", serial).details(&checked);
            Ok((m, entry))
        })
    })
    .await?;
    state.directory.put(&updated);
    Ok(updated)
}

/// What an import would change, before it is applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPreview {
    /// Serials not on the list yet.
    pub new_serials: u64,
    /// Serials already pre-authorised.
    pub already: u64,
    /// Waiting boxes the import would accept, by serial (the first 50).
    pub will_accept: Vec<String>,
    pub will_accept_total: u64,
}

/// Whether the import of `row` accepts waiting box `d`.
fn accepts(row: &SerialRow, d: &device::Model) -> bool {
    d.status == DeviceStatus::Pending && row.model.as_deref().is_none_or(|m| m == d.model)
}

/// What importing `rows` would change.
pub async fn preview(db: &impl ConnectionTrait, rows: &[SerialRow]) -> Result<ImportPreview> {
    let mut p = ImportPreview::default();
    for chunk in rows.chunks(500) {
        let serials: Vec<&str> = chunk.iter().map(|r| r.serial.as_str()).collect();
        let listed: std::collections::HashSet<String> = preauthorized_serial::Entity::find()
            .filter(preauthorized_serial::Column::Serial.is_in(serials.iter().copied()))
            .all(db)
            .await?
            .into_iter()
            .map(|s| s.serial)
            .collect();
        let waiting: std::collections::HashMap<String, device::Model> = device::Entity::find()
            .filter(device::Column::Serial.is_in(serials.iter().copied()))
            .filter(device::Column::Status.eq(DeviceStatus::Pending))
            .all(db)
            .await?
            .into_iter()
            .map(|d| (d.serial.clone(), d))
            .collect();
        for row in chunk {
            if listed.contains(&row.serial) {
                p.already += 1;
            } else {
                p.new_serials += 1;
            }
            if waiting.get(&row.serial).is_some_and(|d| accepts(row, d)) {
                p.will_accept_total += 1;
                if p.will_accept.len() < 50 {
                    p.will_accept.push(row.serial.clone());
                }
            }
        }
    }
    Ok(p)
}

/// Imports `rows` as `caller`: pre-authorises the new serials and accepts
/// the waiting boxes they name, in one audited transaction.
pub async fn import(
    state: &AppState,
    caller: &Caller,
    rows: Vec<SerialRow>,
) -> Result<ImportResult> {
    let now = state.clock.now();
    let importer = caller.name.clone();
    audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            let mut result = ImportResult {
                added: 0,
                already: 0,
                accepted: 0,
            };
            for row in &rows {
                if preauthorized_serial::Entity::find_by_id(row.serial.clone())
                    .one(txn)
                    .await?
                    .is_some()
                {
                    result.already += 1;
                } else {
                    preauthorized_serial::ActiveModel {
                        serial: Set(row.serial.clone()),
                        model: Set(row.model.clone()),
                        imported_by: Set(importer.clone()),
                        imported_at: Set(now),
                    }
                    .insert(txn)
                    .await?;
                    result.added += 1;
                }
                let pending = device::Entity::find()
                    .filter(device::Column::Serial.eq(row.serial.as_str()))
                    .filter(device::Column::Status.eq(DeviceStatus::Pending))
                    .one(txn)
                    .await?;
                if let Some(d) = pending.filter(|d| accepts(row, d)) {
                    let mut m: device::ActiveModel = d.into();
                    m.status = Set(DeviceStatus::Accepted);
                    m.accepted_at = Set(Some(now));
                    m.changed_at = Set(Some(now));
                    m.update(txn).await?;
                    result.accepted += 1;
                }
            }
            let entry = Entry::new(
                "device.import",
                "preauthorized_serials",
                format!("{} serials", rows.len()),
            )
            .details(&result);
            Ok((result, entry))
        })
    })
    .await
}
