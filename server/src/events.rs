//! Health and fault events at the SQL edge, whichever way they arrive:
//! [`store_all`] takes many boxes' batches (validated by the protocol's one
//! set of limits; `crate::pipeline` gathers them) in one transaction,
//! skipping events whose id the box already sent (delivery is at least
//! once), keeping each box's lifetime drop count as the highest it has
//! reported and folding new faults into fleet problems
//! (`crate::problems`); [`recent`] reads them back, newest first, for the
//! management API, and [`series`] reads one health metric over a time
//! range, raw or from hourly rollups.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait, TryInsertResult,
};
use uuid::Uuid;
use wavecast_protocol::events::{Event, EventBatch, EventBody, EventsAccepted, FaultReport};

use crate::{
    api::{DeviceEvents, EventKind, HourPoint, Series, StoredEvent},
    domain::metrics,
    entities::{device_event, device_event_drop, health_hourly},
    error::{ApiError, ApiResult},
};

/// The row that stores `event` from `device_id`.
fn row(device_id: Uuid, event: &Event, now: DateTime<Utc>) -> ApiResult<device_event::ActiveModel> {
    let code = match &event.body {
        EventBody::Health(_) => None,
        EventBody::Fault(f) => Some(f.code.clone()),
    };
    Ok(device_event::ActiveModel {
        device_id: Set(device_id),
        event_id: Set(event.id.clone()),
        kind: Set(EventKind::of(event).as_str().to_owned()),
        at: Set(event.at()),
        received_at: Set(now),
        code: Set(code),
        body: Set(serde_json::to_value(event).map_err(anyhow::Error::from)?),
    })
}

/// What storing one box's batch did: the box's answer, and the kind and
/// box time of each event stored for the first time (for the metrics).
#[derive(Debug)]
pub struct Stored {
    pub answer: EventsAccepted,
    pub new: Vec<(&'static str, i64)>,
}

/// One box's validated batch, ready to store.
#[derive(Debug)]
pub struct Incoming {
    /// The device the credential (or MQTT topic) names, never one the batch
    /// could name.
    pub device_id: Uuid,
    pub model: String,
    pub batch: EventBatch,
}

/// Rows per INSERT: 7 values each stay within both backends' limits on
/// bound parameters.
const ROWS_PER_INSERT: usize = 1000;

/// Stores several boxes' batches (each already validated with
/// [`EventBatch::validate`]) in one transaction: all or nothing. Events a
/// box already sent are skipped (`on conflict do nothing`; the keys the
/// insert returns are the events new to the server), new faults are folded
/// into fleet problems once, and each box's drop count is kept as the
/// highest it reported. Answers in the order of `items`.
pub async fn store_all(db: &DatabaseConnection, items: &[Incoming]) -> ApiResult<Vec<Stored>> {
    let now = Utc::now();
    let mut rows = Vec::new();
    for it in items {
        for e in &it.batch.events {
            rows.push(row(it.device_id, e, now)?);
        }
    }
    // A transaction dropped before its commit rolls back.
    let transaction = db.begin().await?;
    let txn = &transaction;
    let mut fresh: HashSet<(Uuid, String)> = HashSet::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(ROWS_PER_INSERT).collect();
        let inserted = device_event::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::columns([
                    device_event::Column::DeviceId,
                    device_event::Column::EventId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .do_nothing()
            .exec_with_returning_keys(txn)
            .await?;
        if let TryInsertResult::Inserted(keys) = inserted {
            fresh.extend(keys);
        }
    }
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        // An id twice in one batch is new once.
        let new: Vec<&Event> = it
            .batch
            .events
            .iter()
            .filter(|e| fresh.remove(&(it.device_id, e.id.clone())))
            .collect();
        let new_faults: Vec<&FaultReport> = new
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::Fault(f) => Some(f),
                EventBody::Health(_) => None,
            })
            .collect();
        // Stored as a signed 64-bit integer; no box drops 2^63 events.
        let dropped = i64::try_from(it.batch.dropped_total).unwrap_or(i64::MAX);
        if dropped > 0 {
            keep_highest_drops(txn, it.device_id, dropped, now).await?;
        }
        crate::problems::record(txn, it.device_id, &it.model, &new_faults).await?;
        crate::tickets::on_faults(txn, it.device_id, &new_faults).await?;
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        out.push(Stored {
            answer: EventsAccepted {
                accepted: count(new.len()),
                duplicates: count(it.batch.events.len() - new.len()),
            },
            new: new
                .iter()
                .map(|e| (EventKind::of(e).as_str(), e.at()))
                .collect(),
        });
    }
    transaction.commit().await?;
    Ok(out)
}

/// Raises the stored drop count to `dropped` unless it is already as high.
/// The insert creates the row only if it is missing and the update is
/// conditional, so two batches at once cannot lower the count.
async fn keep_highest_drops(
    txn: &impl ConnectionTrait,
    device_id: Uuid,
    dropped: i64,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    use device_event_drop::Column;
    device_event_drop::Entity::insert(device_event_drop::ActiveModel {
        device_id: Set(device_id),
        dropped_total: Set(dropped),
        updated_at: Set(now),
    })
    .on_conflict(OnConflict::column(Column::DeviceId).do_nothing().to_owned())
    .exec_without_returning(txn)
    .await?;
    device_event_drop::Entity::update_many()
        .col_expr(Column::DroppedTotal, Expr::value(dropped))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::DeviceId.eq(device_id))
        .filter(Column::DroppedTotal.lt(dropped))
        .exec(txn)
        .await?;
    Ok(())
}

/// The newest `limit` events of `device_id` (of one kind, if given), by
/// the time they happened and then by id, with the box's drop count.
pub async fn recent(
    db: &impl ConnectionTrait,
    device_id: Uuid,
    kind: Option<EventKind>,
    limit: u64,
) -> ApiResult<DeviceEvents> {
    use device_event::Column;
    let mut select = device_event::Entity::find().filter(Column::DeviceId.eq(device_id));
    if let Some(k) = kind {
        select = select.filter(Column::Kind.eq(k.as_str()));
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
                ApiError::Internal(anyhow::anyhow!(
                    "stored event {} of device {device_id}: {e}",
                    r.event_id
                ))
            })?;
            Ok(StoredEvent {
                event,
                received_at: r.received_at,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
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
) -> ApiResult<Series> {
    use device_event::Column;
    let rows = device_event::Entity::find()
        .select_only()
        .column(Column::At)
        .column(Column::Body)
        .filter(Column::DeviceId.eq(device_id))
        .filter(Column::Kind.eq(EventKind::Health.as_str()))
        .filter(Column::At.between(from, to))
        .order_by_asc(Column::At)
        .order_by_asc(Column::EventId)
        .limit(limit + 1)
        .into_tuple::<(i64, serde_json::Value)>()
        .all(db)
        .await?;
    let truncated = rows.len() as u64 > limit;
    let points = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .filter_map(|(at, body)| {
            // Stored bodies passed validation when they arrived.
            let event: Event = serde_json::from_value(body).ok()?;
            match event.body {
                EventBody::Health(h) => Some((at, metrics::value(&h, metric)?)),
                EventBody::Fault(_) => None,
            }
        })
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
) -> ApiResult<Series> {
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
    let truncated = rows.len() as u64 > limit;
    let hourly: Vec<HourPoint> = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .filter_map(|(at, m)| {
            // Stored by the rollup job in this shape.
            let r: metrics::Rollup = serde_json::from_value(m).ok()?;
            let a = r.get(metric)?;
            Some(HourPoint {
                at,
                count: a.count,
                mean: a.mean(),
                min: a.min,
                max: a.max,
            })
        })
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
