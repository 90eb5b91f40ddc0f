//! `GET /api/v1/fleet/summary`: the fleet at a glance, for operators and
//! support staff: boxes online, versions by model, and fault rates per
//! 1,000 device-days by model and firmware version.

use std::collections::{BTreeMap, HashMap};

use actix_web::{web, HttpResponse};
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Deserialize;
use uuid::Uuid;
use wavecast_protocol::events::{Event, EventBody};

use crate::{
    api::{EventKind, FleetSummary, VersionCount},
    auth::{access, Auth},
    domain::{
        enrolment::DeviceStatus,
        fleet::{fault_rates, firmware_of, online},
    },
    engine::components_of,
    entities::{device, device_event, health_hourly},
    error::{ApiError, ApiResult},
    rollups::firmware_names,
    state::AppState,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    days: Option<u32>,
}

type Key = (String, Option<String>);

/// `GET /api/v1/fleet/summary?days=N` (7 by default, at most 400): fault
/// rates count the faults boxes reported in those days against the hours
/// they reported health (hourly rollups, at most a rollup pass behind).
pub async fn summary(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<SummaryQuery>,
) -> ApiResult<HttpResponse> {
    let days = q.days.unwrap_or(7);
    if !(1..=400).contains(&days) {
        return Err(ApiError::Validation("days must be 1 to 400".into()));
    }
    let now = Utc::now().timestamp();
    let since = now - i64::from(days) * 86_400;
    let names = firmware_names(&state.db).await?;
    let online_secs = state.config.telemetry.online_secs;
    let mut models: HashMap<Uuid, String> = HashMap::new();
    let mut versions: BTreeMap<Key, (u64, u64)> = BTreeMap::new();
    let (mut total, mut up) = (0u64, 0u64);
    for d in device::Entity::find()
        .filter(device::Column::Status.eq(DeviceStatus::Accepted.as_str()))
        .all(&state.db)
        .await?
    {
        let on = online(d.last_seen_at.map(|t| t.timestamp()), now, online_secs);
        total += 1;
        up += u64::from(on);
        let v = versions
            .entry((d.model.clone(), firmware_of(&components_of(&d), &names)))
            .or_default();
        v.0 += 1;
        v.1 += u64::from(on);
        models.insert(d.id, d.model);
    }
    let mut hours: BTreeMap<Key, u64> = BTreeMap::new();
    for (model, firmware) in health_hourly::Entity::find()
        .select_only()
        .column(health_hourly::Column::Model)
        .column(health_hourly::Column::Firmware)
        .filter(health_hourly::Column::Hour.gte(since))
        .into_tuple::<(String, Option<String>)>()
        .all(&state.db)
        .await?
    {
        *hours.entry((model, firmware)).or_default() += 1;
    }
    let mut faults: BTreeMap<Key, u64> = BTreeMap::new();
    for (id, body) in device_event::Entity::find()
        .select_only()
        .column(device_event::Column::DeviceId)
        .column(device_event::Column::Body)
        .filter(device_event::Column::Kind.eq(EventKind::Fault.as_str()))
        .filter(device_event::Column::At.gte(since))
        .into_tuple::<(Uuid, serde_json::Value)>()
        .all(&state.db)
        .await?
    {
        // Faults of boxes since decommissioned no longer count.
        let Some(model) = models.get(&id) else {
            continue;
        };
        let Ok(Event {
            body: EventBody::Fault(f),
            ..
        }) = serde_json::from_value(body)
        else {
            continue;
        };
        *faults
            .entry((model.clone(), firmware_of(&f.installed, &names)))
            .or_default() += 1;
    }
    Ok(HttpResponse::Ok().json(FleetSummary {
        devices: total,
        online: up,
        online_secs,
        versions: versions
            .into_iter()
            .map(|((model, firmware), (devices, online))| VersionCount {
                model,
                firmware,
                devices,
                online,
            })
            .collect(),
        days,
        fault_rates: fault_rates(&hours, &faults),
    }))
}
