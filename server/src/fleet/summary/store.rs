//! The fleet summary at the SQL edge: reads accepted boxes, hourly
//! rollups and faults of the last days, and hands them to the rules.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;
use wavecast_protocol::events::{Event, EventBody};

use super::rules::{fault_rates, firmware_of, online, rates_note};
use crate::{
    fleet::{
        devices::{rules::DeviceStatus, store::components_of},
        telemetry::{
            rollups::{firmware_names, rolled_up_to},
            rules::EventKind,
        },
        views::{FleetSummary, VersionCount},
    },
    platform::{
        config::TelemetryConfig,
        entities::{device, device_event, health_hourly},
        error::Result,
    },
};

type Key = (String, Option<String>);

/// The summary at `now` over the last `days` days; a box heard from within
/// `online_secs` is online. Fault rates count the faults boxes reported in
/// those days against the hours they reported health (hourly rollups, at
/// most a rollup pass behind).
pub async fn summary(
    db: &impl ConnectionTrait,
    days: u32,
    now: DateTime<Utc>,
    telemetry: &TelemetryConfig,
) -> Result<FleetSummary> {
    let online_secs = telemetry.online_secs;
    let rates_through = rolled_up_to(db).await?;
    let now = now.timestamp();
    let since = now - i64::from(days) * 86_400;
    let names = firmware_names(db).await?;
    let mut models: HashMap<Uuid, String> = HashMap::new();
    let mut versions: BTreeMap<Key, (u64, u64)> = BTreeMap::new();
    let (mut total, mut up) = (0u64, 0u64);
    for d in device::Entity::find()
        .filter(device::Column::Status.eq(DeviceStatus::Accepted))
        .all(db)
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
        .all(db)
        .await?
    {
        *hours.entry((model, firmware)).or_default() += 1;
    }
    let mut faults: BTreeMap<Key, u64> = BTreeMap::new();
    for (id, body) in device_event::Entity::find()
        .select_only()
        .column(device_event::Column::DeviceId)
        .column(device_event::Column::Body)
        .filter(device_event::Column::Kind.eq(EventKind::Fault))
        .filter(device_event::Column::At.gte(since))
        .into_tuple::<(Uuid, serde_json::Value)>()
        .all(db)
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
    let rates = fault_rates(&hours, &faults);
    Ok(FleetSummary {
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
        rates_note: rates_note(rates_through.is_some(), &rates, telemetry.rollup_every_secs),
        rates_through,
        fault_rates: rates,
    })
}
