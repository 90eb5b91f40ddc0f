//! `/api/v1/devices`: the fleet as operators see it: list, show, a box's
//! health and fault events and its metric series, accept, reject,
//! decommission, and import pre-authorised serials (CSV).

use actix_web::{web, HttpResponse};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    api::{DeviceView, EventKind, ImportResult},
    audit::{self, Entry},
    auth::{access, Auth},
    domain::{enrolment::DeviceStatus, metrics, names::parse_label},
    entities::{device, preauthorized_serial},
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Largest CSV accepted by an import, in serials.
const MAX_IMPORT: usize = 1_000_000;

pub(crate) fn device_view(d: device::Model) -> ApiResult<DeviceView> {
    let tags = d
        .tags
        .as_ref()
        .and_then(|t| serde_json::from_value::<Vec<String>>(t.clone()).ok())
        .unwrap_or_default();
    Ok(DeviceView {
        id: d.id,
        status: d.status.parse().map_err(|e: String| {
            ApiError::Internal(anyhow::anyhow!("stored device status: {e}"))
        })?,
        serial: d.serial,
        model: d.model,
        hardware_revision: d.hardware_revision,
        public_key: d.public_key,
        credential_prefix: d.credential_prefix,
        credential_expires_at: d.credential_expires_at,
        agent_version: d.agent_version,
        boot_slot: d.boot_slot,
        timezone: d.timezone,
        region: d.region,
        tags,
        installed: d.installed.unwrap_or(serde_json::Value::Null),
        created_at: d.created_at,
        accepted_at: d.accepted_at,
        last_seen_at: d.last_seen_at,
        subscriber_id: d.subscriber_id,
        activated_at: d.activated_at,
        warranty_void_reason: d.warranty_void_reason,
        replaced_by: d.replaced_by,
    })
}

/// Finds a device by id or serial.
pub(crate) async fn find(state: &AppState, reference: &str) -> ApiResult<device::Model> {
    let select = match Uuid::parse_str(reference) {
        Ok(id) => device::Entity::find_by_id(id),
        Err(_) => device::Entity::find().filter(device::Column::Serial.eq(reference)),
    };
    select.one(&state.db).await?.ok_or_else(|| {
        ApiError::NotFound(format!("no device {reference:?} (use an id or a serial)"))
    })
}

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
) -> ApiResult<HttpResponse> {
    let limit = super::limit(q.limit, 100, 1000)?;
    let mut select = device::Entity::find().order_by_asc(device::Column::Serial);
    if let Some(s) = &q.status {
        s.parse::<DeviceStatus>().map_err(ApiError::Validation)?;
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
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "total": total, "items": items })))
}

/// `GET /api/v1/devices/{id or serial}`
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    reference: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(device_view(find(&state, &reference).await?)?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    #[serde(rename = "type")]
    kind: Option<EventKind>,
    limit: Option<u64>,
}

/// `GET /api/v1/devices/{id or serial}/events?type=health|fault&limit=N`:
/// the box's events, newest first (100 unless `limit` says, at most 1000).
pub async fn events(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    reference: web::Path<String>,
    q: web::Query<EventsQuery>,
) -> ApiResult<HttpResponse> {
    let limit = super::limit(q.limit, 100, 1000)?;
    let d = find(&state, &reference).await?;
    let events = crate::events::recent(&state.db, d.id, q.kind, limit).await?;
    Ok(HttpResponse::Ok().json(events))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesQuery {
    metric: String,
    from: Option<i64>,
    to: Option<i64>,
    limit: Option<u64>,
    resolution: Option<metrics::Resolution>,
}

/// Longest range one raw series query reads: 31 days.
const MAX_SERIES_SECS: i64 = metrics::MAX_RAW_SPAN;
/// Longest range one hourly series query reads: 400 days.
const MAX_HOURLY_SECS: i64 = 400 * 86_400;

/// `GET /api/v1/devices/{id or serial}/series?metric=NAME&from=T&to=T&limit=N&resolution=raw|hour`:
/// one health metric over a range of Unix seconds (the last 24 hours unless
/// given), oldest first: raw reports (at most 31 days and 10,000 reports),
/// or hourly rollups (at most 400 days). By default raw up to 31 days,
/// hourly beyond.
pub async fn series(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    reference: web::Path<String>,
    q: web::Query<SeriesQuery>,
) -> ApiResult<HttpResponse> {
    metrics::check_name(&q.metric).map_err(ApiError::Validation)?;
    let now = Utc::now().timestamp();
    let to = q.to.unwrap_or(now);
    let from = q.from.unwrap_or(to.saturating_sub(86_400));
    let resolution = q
        .resolution
        .unwrap_or_else(|| metrics::resolution(to.saturating_sub(from)));
    let max = match resolution {
        metrics::Resolution::Raw => MAX_SERIES_SECS,
        metrics::Resolution::Hour => MAX_HOURLY_SECS,
    };
    // Checked: both ends come from the query string, any i64.
    if to
        .checked_sub(from)
        .is_none_or(|span| !(0..=max).contains(&span))
    {
        return Err(ApiError::Validation(format!(
            "need from <= to, at most {max} seconds apart at this resolution"
        )));
    }
    let limit = super::limit(q.limit, 10_000, 10_000)?;
    let d = find(&state, &reference).await?;
    let s = match resolution {
        metrics::Resolution::Raw => {
            crate::events::series(&state.db, d.id, &q.metric, from, to, limit).await?
        }
        metrics::Resolution::Hour => {
            crate::events::series_hourly(&state.db, d.id, &q.metric, from, to, limit).await?
        }
    };
    Ok(HttpResponse::Ok().json(s))
}

/// `POST /api/v1/devices/{ref}/{accept|reject|decommission}`
pub async fn act(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (reference, action) = path.into_inner();
    let d = find(&state, &reference).await?;
    let from: DeviceStatus = d
        .status
        .parse()
        .map_err(|e: String| ApiError::Internal(anyhow::anyhow!("stored device status: {e}")))?;
    let to = match (action.as_str(), from) {
        ("accept", DeviceStatus::Pending | DeviceStatus::Accepted) => DeviceStatus::Accepted,
        ("reject", DeviceStatus::Pending | DeviceStatus::Rejected) => DeviceStatus::Rejected,
        ("decommission", _) => DeviceStatus::Decommissioned,
        ("accept" | "reject", _) => {
            return Err(ApiError::Conflict(format!(
                "the device is {from}; only pending devices can be {action}ed"
            )))
        }
        _ => {
            return Err(ApiError::NotFound(format!(
                "no device action {action:?}; use accept, reject or decommission"
            )))
        }
    };
    let caller = auth.caller.clone();
    let updated = state
        .db
        .transaction::<_, device::Model, ApiError>(|txn| {
            Box::pin(async move {
                let serial = d.serial.clone();
                let mut m: device::ActiveModel = d.into();
                m.status = Set(to.as_str().into());
                m.changed_at = Set(Some(Utc::now()));
                if to == DeviceStatus::Accepted && from == DeviceStatus::Pending {
                    m.accepted_at = Set(Some(Utc::now()));
                }
                if to == DeviceStatus::Decommissioned {
                    // Its credential stops working at once.
                    m.credential_prefix = Set(None);
                    m.credential_hash = Set(None);
                    m.credential_expires_at = Set(None);
                }
                let m = m.update(txn).await?;
                audit::record(
                    txn,
                    &caller,
                    Entry {
                        action: match to {
                            DeviceStatus::Accepted => "device.accept",
                            DeviceStatus::Rejected => "device.reject",
                            _ => "device.decommission",
                        },
                        object_type: "device",
                        object_id: serial,
                        details: audit::details(&serde_json::json!({ "from": from, "to": to })),
                    },
                )
                .await?;
                Ok(m)
            })
        })
        .await?;
    state.directory.put(&updated);
    if to == DeviceStatus::Decommissioned {
        state.mqtt.remove_device(updated.id);
    }
    Ok(HttpResponse::Ok().json(device_view(updated)?))
}

/// `POST /api/v1/devices/import`: a CSV from manufacturing, `serial[,model]`
/// a line (a header line naming `serial` is skipped). Pending devices whose
/// serial appears are accepted. All or nothing: one bad line refuses the file.
pub async fn import(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    body: String,
) -> ApiResult<HttpResponse> {
    let mut rows = Vec::new();
    for (n, line) in body.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (n == 0 && line.to_ascii_lowercase().starts_with("serial")) {
            continue;
        }
        let mut fields = line.split(',').map(str::trim);
        let serial = parse_label("serial", fields.next().unwrap_or_default(), 128)
            .map_err(|e| ApiError::Validation(format!("line {}: {e}", n + 1)))?;
        let model = match fields.next().filter(|m| !m.is_empty()) {
            Some(m) => Some(
                parse_label("model", m, 64)
                    .map_err(|e| ApiError::Validation(format!("line {}: {e}", n + 1)))?,
            ),
            None => None,
        };
        if fields.next().is_some() {
            return Err(ApiError::Validation(format!(
                "line {}: expected serial[,model]",
                n + 1
            )));
        }
        rows.push((serial, model));
        if rows.len() > MAX_IMPORT {
            return Err(ApiError::TooLarge(format!(
                "more than {MAX_IMPORT} serials in one import"
            )));
        }
    }
    if rows.is_empty() {
        return Err(ApiError::Validation("the CSV holds no serials".into()));
    }
    let caller = auth.caller.clone();
    let result = state
        .db
        .transaction::<_, ImportResult, ApiError>(|txn| {
            Box::pin(async move {
                let now = Utc::now();
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
                            imported_by: Set(caller.name.clone()),
                            imported_at: Set(now),
                        }
                        .insert(txn)
                        .await?;
                        result.added += 1;
                    }
                    let pending = device::Entity::find()
                        .filter(device::Column::Serial.eq(serial))
                        .filter(device::Column::Status.eq(DeviceStatus::Pending.as_str()))
                        .one(txn)
                        .await?;
                    if let Some(d) =
                        pending.filter(|d| model.as_deref().is_none_or(|m| m == d.model))
                    {
                        let mut m: device::ActiveModel = d.into();
                        m.status = Set(DeviceStatus::Accepted.as_str().into());
                        m.accepted_at = Set(Some(now));
                        m.changed_at = Set(Some(now));
                        m.update(txn).await?;
                        result.accepted += 1;
                    }
                }
                audit::record(
                    txn,
                    &caller,
                    Entry {
                        action: "device.import",
                        object_type: "preauthorized_serials",
                        object_id: format!("{} serials", rows.len()),
                        details: audit::details(&result),
                    },
                )
                .await?;
                Ok(result)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}
