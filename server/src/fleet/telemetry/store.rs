//! Reading what boxes reported: a box's newest events ([`recent`]), and one
//! health metric over a time range, raw ([`series`]) or from the hourly
//! rollups ([`series_hourly`]), or every metric at once for a chart page
//! ([`all_series`]). Events are written by `intake::store`.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use wavecast_protocol::events::{Event, EventBody, HealthReport};

use super::rules::{self as metrics, EventKind};
use crate::{
    fleet::views::{DeviceEvents, HourPoint, Series, StoredEvent},
    platform::{
        entities::{device_event, device_event_drop, health_hourly},
        error::{Error, Result},
    },
};

/// The newest `limit` events of `device_id` (of one kind, if given), by
/// the time they happened and then by id, with the box's drop count.
pub async fn recent(
    db: &impl ConnectionTrait,
    device_id: Uuid,
    kind: Option<EventKind>,
    limit: u64,
) -> Result<DeviceEvents> {
    use device_event::Column;
    let mut select = device_event::Entity::find().filter(Column::DeviceId.eq(device_id));
    if let Some(k) = kind {
        select = select.filter(Column::Kind.eq(k));
    }
    let events = select
        .order_by_desc(Column::At)
        .order_by_desc(Column::EventId)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|r| {
            let event = serde_json::from_value(r.body).map_err(|e| {
                Error::Internal(anyhow::anyhow!(
                    "stored event {} of device {device_id}: {e}",
                    r.event_id
                ))
            })?;
            Ok(StoredEvent {
                event,
                received_at: r.received_at,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let dropped_total = device_event_drop::Entity::find_by_id(device_id)
        .one(db)
        .await?
        .map_or(0, |d| u64::try_from(d.dropped_total).unwrap_or(0));
    Ok(DeviceEvents {
        device_id,
        dropped_total,
        events,
    })
}

/// One metric from `device_id`'s health reports with `from <= at <= to`,
/// oldest first, reading at most `limit` reports (and saying so).
pub async fn series(
    db: &impl ConnectionTrait,
    device_id: Uuid,
    metric: &str,
    from: i64,
    to: i64,
    limit: u64,
) -> Result<Series> {
    let (reports, truncated) = health_reports(db, device_id, from, to, limit).await?;
    let points = reports
        .iter()
        .filter_map(|(at, h)| Some((*at, metrics::value(h, metric)?)))
        .collect();
    Ok(Series {
        device_id,
        metric: metric.to_owned(),
        from,
        to,
        resolution: metrics::Resolution::Raw,
        points,
        hourly: Vec::new(),
        truncated,
    })
}

/// One metric from `device_id`'s hourly rollups for the hours starting in
/// `from..=to`, oldest first, at most `limit` hours.
pub async fn series_hourly(
    db: &impl ConnectionTrait,
    device_id: Uuid,
    metric: &str,
    from: i64,
    to: i64,
    limit: u64,
) -> Result<Series> {
    let (rollups, truncated) = rollups(db, device_id, from, to, limit).await?;
    let hourly: Vec<HourPoint> = rollups
        .iter()
        .filter_map(|(at, r)| Some(hour_point(*at, r.get(metric)?)))
        .collect();
    Ok(Series {
        device_id,
        metric: metric.to_owned(),
        from,
        to,
        resolution: metrics::Resolution::Hour,
        points: hourly.iter().map(|h| (h.at, h.mean)).collect(),
        hourly,
        truncated,
    })
}

/// The metric names box `device_id` reported lately: those of its latest
/// health report and of its latest hourly rollup, sorted.
pub async fn known_metrics(db: &impl ConnectionTrait, device_id: Uuid) -> Result<Vec<String>> {
    let mut names = std::collections::BTreeSet::new();
    let latest = device_event::Entity::find()
        .select_only()
        .column(device_event::Column::Body)
        .filter(device_event::Column::DeviceId.eq(device_id))
        .filter(device_event::Column::Kind.eq(EventKind::Health))
        .order_by_desc(device_event::Column::At)
        .limit(1)
        .into_tuple::<serde_json::Value>()
        .one(db)
        .await?;
    if let Some(Ok(Event {
        body: EventBody::Health(h),
        ..
    })) = latest.map(serde_json::from_value::<Event>)
    {
        names.extend(metrics::names_in(&h));
    }
    let rollup = health_hourly::Entity::find()
        .select_only()
        .column(health_hourly::Column::Metrics)
        .filter(health_hourly::Column::DeviceId.eq(device_id))
        .order_by_desc(health_hourly::Column::Hour)
        .limit(1)
        .into_tuple::<serde_json::Value>()
        .one(db)
        .await?;
    if let Some(serde_json::Value::Object(m)) = rollup {
        names.extend(m.keys().cloned());
    }
    Ok(names.into_iter().collect())
}

/// Every metric of box `device_id` over `from..=to` at `resolution`, read
/// once (a page draws them all): raw reports (at most `limit`, oldest
/// first) or hourly rollups with each hour's minimum and maximum.
pub async fn all_series(
    db: &impl ConnectionTrait,
    device_id: Uuid,
    from: i64,
    to: i64,
    resolution: metrics::Resolution,
    limit: u64,
) -> Result<Vec<Series>> {
    let mut by_name: std::collections::BTreeMap<String, Series> = Default::default();
    let empty = |name: &str| Series {
        device_id,
        metric: name.to_owned(),
        from,
        to,
        resolution,
        points: Vec::new(),
        hourly: Vec::new(),
        truncated: false,
    };
    let truncated = match resolution {
        metrics::Resolution::Raw => {
            let (reports, truncated) = health_reports(db, device_id, from, to, limit).await?;
            for (at, h) in reports {
                for (name, v) in metrics::all(&h) {
                    by_name
                        .entry(name.clone())
                        .or_insert_with(|| empty(&name))
                        .points
                        .push((at, v));
                }
            }
            truncated
        }
        metrics::Resolution::Hour => {
            let (rollups, truncated) = rollups(db, device_id, from, to, limit).await?;
            for (at, r) in rollups {
                for (name, a) in r {
                    let s = by_name.entry(name.clone()).or_insert_with(|| empty(&name));
                    s.points.push((at, a.mean()));
                    s.hourly.push(hour_point(at, &a));
                }
            }
            truncated
        }
    };
    Ok(by_name
        .into_values()
        .map(|mut s| {
            s.truncated = truncated;
            s
        })
        .collect())
}

/// Box `device_id`'s health reports with `from <= at <= to`, oldest first,
/// at most `limit`, and whether there were more.
async fn health_reports(
    db: &impl ConnectionTrait,
    device_id: Uuid,
    from: i64,
    to: i64,
    limit: u64,
) -> Result<(Vec<(i64, HealthReport)>, bool)> {
    use device_event::Column;
    let rows = device_event::Entity::find()
        .select_only()
        .column(Column::At)
        .column(Column::Body)
        .filter(Column::DeviceId.eq(device_id))
        .filter(Column::Kind.eq(EventKind::Health))
        .filter(Column::At.between(from, to))
        .order_by_asc(Column::At)
        .order_by_asc(Column::EventId)
        .limit(limit + 1)
        .into_tuple::<(i64, serde_json::Value)>()
        .all(db)
        .await?;
    Ok(first(rows, limit, |(at, body)| {
        // Stored bodies passed validation when they arrived.
        match serde_json::from_value::<Event>(body).ok()?.body {
            EventBody::Health(h) => Some((at, h)),
            EventBody::Fault(_) => None,
        }
    }))
}

/// The first `limit` of `rows` (read with one more than `limit`) through
/// `f`, and whether there were more.
fn first<R, T>(rows: Vec<R>, limit: u64, f: impl FnMut(R) -> Option<T>) -> (Vec<T>, bool) {
    let truncated = rows.len() as u64 > limit;
    let kept = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .filter_map(f)
        .collect();
    (kept, truncated)
}

/// Box `device_id`'s hourly rollups for the hours starting in
/// `from..=to`, oldest first, at most `limit`, and whether there were more.
async fn rollups(
    db: &impl ConnectionTrait,
    device_id: Uuid,
    from: i64,
    to: i64,
    limit: u64,
) -> Result<(Vec<(i64, metrics::Rollup)>, bool)> {
    use health_hourly::Column;
    let rows = health_hourly::Entity::find()
        .select_only()
        .column(Column::Hour)
        .column(Column::Metrics)
        .filter(Column::DeviceId.eq(device_id))
        .filter(Column::Hour.between(metrics::hour_of(from), to))
        .order_by_asc(Column::Hour)
        .limit(limit + 1)
        .into_tuple::<(i64, serde_json::Value)>()
        .all(db)
        .await?;
    // Stored by the rollup job in this shape.
    Ok(first(rows, limit, |(at, m)| {
        Some((at, serde_json::from_value(m).ok()?))
    }))
}

/// One hour of one metric as a chart shows it.
fn hour_point(at: i64, a: &metrics::Agg) -> HourPoint {
    HourPoint {
        at,
        count: a.count,
        mean: a.mean(),
        min: a.min,
        max: a.max,
    }
}
