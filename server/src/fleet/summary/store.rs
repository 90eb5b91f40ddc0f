//! The fleet summary at the SQL edge: reads accepted boxes (a chunk at a
//! time), device-hours of hourly rollups (counted by the database, an
//! hour at a time) and faults of the last days, and hands them to the
//! rules.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;
use wavecast_protocol::{
    checkin::Component,
    events::{Event, EventBody},
};

use super::rules::{fault_rates, firmware_of, online, rates_note};
use crate::{
    fleet::{
        devices::{rules::DeviceStatus, store::each_chunk},
        telemetry::{
            rollups::{firmware_names, rolled_up_to},
            rules::{EventKind, HOUR},
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

/// Boxes read per query: between two reads other queries get the
/// connection.
const CHUNK: u64 = 10_000;

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
    // Faults first (few): the boxes that sent them are looked up while
    // the fleet is read.
    let fault_bodies: Vec<(Uuid, serde_json::Value)> = device_event::Entity::find()
        .select_only()
        .column(device_event::Column::DeviceId)
        .column(device_event::Column::Body)
        .filter(device_event::Column::Kind.eq(EventKind::Fault))
        .filter(device_event::Column::At.gte(since))
        .into_tuple()
        .all(db)
        .await?;
    let faulted: HashSet<Uuid> = fault_bodies.iter().map(|(id, _)| *id).collect();
    let mut models: HashMap<Uuid, String> = HashMap::new();
    let mut versions: BTreeMap<Key, (u64, u64)> = BTreeMap::new();
    let (mut total, mut up) = (0u64, 0u64);
    // Boxes alike share a firmware: worked out once per inventory.
    let mut firmware: HashMap<String, Option<String>> = HashMap::new();
    type Row = (
        Uuid,
        DeviceStatus,
        String,
        Option<serde_json::Value>,
        Option<DateTime<Utc>>,
    );
    let columns = [
        device::Column::Id,
        device::Column::Status,
        device::Column::Model,
        device::Column::Installed,
        device::Column::LastSeenAt,
    ];
    each_chunk(
        db,
        &columns,
        CHUNK,
        |r: &Row| r.0,
        |rows: Vec<Row>| {
            for (id, status, model, installed, last_seen) in rows {
                if status != DeviceStatus::Accepted {
                    continue;
                }
                let on = online(last_seen.map(|t| t.timestamp()), now, online_secs);
                total += 1;
                up += u64::from(on);
                let inventory = installed
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let fw = firmware
                    .entry(inventory)
                    .or_insert_with(|| {
                        let components: Vec<Component> = installed
                            .and_then(|v| serde_json::from_value(v).ok())
                            .unwrap_or_default();
                        firmware_of(&components, &names)
                    })
                    .clone();
                if faulted.contains(&id) {
                    models.insert(id, model.clone());
                }
                let v = versions.entry((model, fw)).or_default();
                v.0 += 1;
                v.1 += u64::from(on);
            }
        },
    )
    .await?;
    // Device-hours of health reports, an hour at a time (an index holds
    // them by hour, model and firmware).
    let mut hours: BTreeMap<Key, u64> = BTreeMap::new();
    let mut hour = since.div_euclid(HOUR) * HOUR;
    while hour <= now {
        for (model, fw, n) in health_hourly::Entity::find()
            .select_only()
            .column(health_hourly::Column::Model)
            .column(health_hourly::Column::Firmware)
            .column_as(health_hourly::Column::DeviceId.count(), "n")
            .filter(health_hourly::Column::Hour.eq(hour))
            .group_by(health_hourly::Column::Model)
            .group_by(health_hourly::Column::Firmware)
            .into_tuple::<(String, Option<String>, i64)>()
            .all(db)
            .await?
        {
            *hours.entry((model, fw)).or_default() += u64::try_from(n).unwrap_or(0);
        }
        hour += HOUR;
    }
    let mut faults: BTreeMap<Key, u64> = BTreeMap::new();
    for (id, body) in fault_bodies {
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
