//! Health and fault events at the SQL edge, whichever way they arrive:
//! [`store`] takes a box's batch (validated by the protocol's one set of
//! limits) in one transaction, skipping events whose id the box already
//! sent (delivery is at least once) and keeping the box's lifetime drop
//! count as the highest it has reported, and folding new faults into fleet
//! problems (`crate::problems`); [`recent`] reads them back, newest first,
//! for the management API, and [`series`] reads one health metric over a
//! time range.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use uuid::Uuid;
use wavecast_protocol::events::{Event, EventBatch, EventBody, EventsAccepted, FaultReport};

use crate::{
    api::{DeviceEvents, EventKind, Series, StoredEvent},
    domain::metrics,
    entities::{device, device_event, device_event_drop},
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

/// What [`store`] did: the box's answer, and the kind and box time of each
/// event stored for the first time (for the server's metrics).
#[derive(Debug)]
pub struct Stored {
    pub answer: EventsAccepted,
    pub new: Vec<(&'static str, i64)>,
}

/// Stores a batch from `device_id` (the device the credential names, never
/// one the batch could name). All or nothing: an invalid event refuses the
/// whole batch (422) and a failure stores none of it.
pub async fn store(
    db: &DatabaseConnection,
    device_id: Uuid,
    batch: EventBatch,
) -> ApiResult<Stored> {
    batch.validate().map_err(ApiError::Validation)?;
    let now = Utc::now();
    let rows = batch
        .events
        .iter()
        .map(|e| row(device_id, e, now))
        .collect::<ApiResult<Vec<_>>>()?;
    let sent = rows.len() as u64;
    // Stored as a signed 64-bit integer; no box drops 2^63 events.
    let dropped = i64::try_from(batch.dropped_total).unwrap_or(i64::MAX);
    db.transaction::<_, Stored, ApiError>(|txn| {
        Box::pin(async move {
            // One batch of a box at a time (a retry can overlap the first
            // delivery): the box's row is locked until commit, so the read
            // of known ids below sees what an earlier delivery stored.
            // (SQLite has one connection and needs no lock.)
            let model = device::Entity::find_by_id(device_id)
                .lock_exclusive()
                .one(txn)
                .await?
                .map(|d| d.model)
                .unwrap_or_default();
            // Faults count towards fleet problems once: not when a box
            // delivers a batch again, nor twice within one batch.
            let known: HashSet<String> = device_event::Entity::find()
                .select_only()
                .column(device_event::Column::EventId)
                .filter(device_event::Column::DeviceId.eq(device_id))
                .filter(
                    device_event::Column::EventId.is_in(batch.events.iter().map(|e| e.id.as_str())),
                )
                .into_tuple::<String>()
                .all(txn)
                .await?
                .into_iter()
                .collect();
            let mut seen = HashSet::new();
            let fresh: Vec<&Event> = batch
                .events
                .iter()
                .filter(|e| !known.contains(&e.id) && seen.insert(e.id.as_str()))
                .collect();
            let new_faults: Vec<&FaultReport> = fresh
                .iter()
                .filter_map(|e| match &e.body {
                    EventBody::Fault(f) => Some(f),
                    EventBody::Health(_) => None,
                })
                .collect();
            let inserted = if rows.is_empty() {
                0
            } else {
                // At most 500 rows of 7 values: within both backends'
                // limits on bound parameters.
                device_event::Entity::insert_many(rows)
                    .on_conflict(
                        OnConflict::columns([
                            device_event::Column::DeviceId,
                            device_event::Column::EventId,
                        ])
                        .do_nothing()
                        .to_owned(),
                    )
                    .exec_without_returning(txn)
                    .await?
            };
            if dropped > 0 {
                keep_highest_drops(txn, device_id, dropped, now).await?;
            }
            crate::problems::record(txn, device_id, &model, &new_faults).await?;
            let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
            Ok(Stored {
                answer: EventsAccepted {
                    accepted: count(inserted),
                    duplicates: count(sent.saturating_sub(inserted)),
                },
                new: fresh
                    .iter()
                    .map(|e| (EventKind::of(e).as_str(), e.at()))
                    .collect(),
            })
        })
    })
    .await
    .map_err(Into::into)
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
        points,
        truncated,
    })
}
