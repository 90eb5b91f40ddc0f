//! `/api/v1/devices`: the fleet as operators see it: list, accept,
//! reject, decommission, and import pre-authorised serials (CSV). A box's
//! events and series are `fleet::telemetry::routes`; its page (with
//! warranty, subscriber, tickets) is `support::devices`.

use actix_web::{web, HttpResponse};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::Deserialize;

use super::{
    rules::{DeviceAction, DeviceStatus},
    store::{device_view, find},
};
use crate::{
    fleet::views::ImportResult,
    http::params::{limit, Counted},
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
    },
    platform::{
        entities::{device, preauthorized_serial},
        error::{Error, Result},
        text::Line,
    },
    state::AppState,
};

/// Largest CSV accepted by an import, in serials.
const MAX_IMPORT: usize = 1_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    model: Option<String>,
    limit: Option<u64>,
    offset: Option<u64>,
}

/// `GET /api/v1/devices`
pub async fn list(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let limit = limit(q.limit, 100, 1000)?;
    let mut select = device::Entity::find().order_by_asc(device::Column::Serial);
    if let Some(s) = &q.status {
        let s: DeviceStatus = s.parse().map_err(Error::Validation)?;
        select = select.filter(device::Column::Status.eq(s));
    }
    if let Some(m) = &q.model {
        select = select.filter(device::Column::Model.eq(m));
    }
    let total = select.clone().count(&state.db).await?;
    let items = select
        .offset(q.offset.unwrap_or(0))
        .limit(limit)
        .all(&state.db)
        .await?
        .into_iter()
        .map(device_view)
        .collect();
    Ok(HttpResponse::Ok().json(Counted { total, items }))
}

/// `POST /api/v1/devices/{ref}/{accept|reject|decommission}`
pub async fn act(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (reference, action) = path.into_inner();
    let action: DeviceAction = action.parse().map_err(Error::NotFound)?;
    let d = find(&state.db, &reference).await?;
    let from = d.status;
    let to = from.apply(action).map_err(Error::Conflict)?;
    let now = state.clock.now();
    let updated = audited(&state.db, &auth, now, move |txn| {
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
    Ok(HttpResponse::Ok().json(device_view(updated)))
}

/// What the audit log keeps of a status change.
#[derive(Debug, serde::Serialize)]
struct StatusChange {
    from: DeviceStatus,
    to: DeviceStatus,
}

/// `POST /api/v1/devices/import`: a CSV from manufacturing, `serial[,model]`
/// a line (a header line naming `serial` is skipped). Pending devices whose
/// serial appears are accepted. All or nothing: one bad line refuses the file.
pub async fn import(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    body: String,
) -> Result<HttpResponse> {
    let mut rows = Vec::new();
    for (n, line) in body.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (n == 0 && line.to_ascii_lowercase().starts_with("serial")) {
            continue;
        }
        let mut fields = line.split(',').map(str::trim);
        let at_line = |e: String| Error::Validation(format!("line {}: {e}", n + 1));
        let serial = Line::parse("serial", fields.next().unwrap_or_default(), 128)
            .map_err(at_line)?
            .into_string();
        let model = match fields.next().filter(|m| !m.is_empty()) {
            Some(m) => Some(Line::parse("model", m, 64).map_err(at_line)?.into_string()),
            None => None,
        };
        if fields.next().is_some() {
            return Err(Error::Validation(format!(
                "line {}: expected serial[,model]",
                n + 1
            )));
        }
        rows.push((serial, model));
        if rows.len() > MAX_IMPORT {
            return Err(Error::TooLarge(format!(
                "more than {MAX_IMPORT} serials in one import"
            )));
        }
    }
    if rows.is_empty() {
        return Err(Error::Validation("the CSV holds no serials".into()));
    }
    let now = state.clock.now();
    let importer = auth.name.clone();
    let result = audited(&state.db, &auth, now, move |txn| {
        Box::pin(async move {
            let mut result = ImportResult {
                added: 0,
                already: 0,
                accepted: 0,
            };
            for (serial, model) in &rows {
                if preauthorized_serial::Entity::find_by_id(serial.clone())
                    .one(txn)
                    .await?
                    .is_some()
                {
                    result.already += 1;
                } else {
                    preauthorized_serial::ActiveModel {
                        serial: Set(serial.clone()),
                        model: Set(model.clone()),
                        imported_by: Set(importer.clone()),
                        imported_at: Set(now),
                    }
                    .insert(txn)
                    .await?;
                    result.added += 1;
                }
                let pending = device::Entity::find()
                    .filter(device::Column::Serial.eq(serial))
                    .filter(device::Column::Status.eq(DeviceStatus::Pending))
                    .one(txn)
                    .await?;
                if let Some(d) = pending.filter(|d| model.as_deref().is_none_or(|m| m == d.model)) {
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
    .await?;
    Ok(HttpResponse::Ok().json(result))
}
