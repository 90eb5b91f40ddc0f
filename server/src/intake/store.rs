//! Storing what boxes send, whichever way it arrives: [`store_all`] takes
//! many boxes' batches (validated by the protocol's one set of limits;
//! [`super::pipeline`] gathers them) in one transaction, skipping events
//! whose id the box already sent (delivery is at least once), keeping each
//! box's lifetime drop count as the highest it has reported, and fanning
//! new faults out: first to fleet problems, then to tickets.
//!
//! Architecture Invariant: this is the one place where a stored fault
//! reaches problems and tickets; telemetry storage itself never calls
//! upward.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, OnConflict},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait, TryInsertResult,
};
use uuid::Uuid;
use wavecast_protocol::events::{Event, EventBatch, EventBody, EventsAccepted, FaultReport};

use crate::{
    fleet::{problems, telemetry::rules::EventKind},
    platform::{
        entities::{device_event, device_event_drop},
        error::Result,
        json::to_json,
    },
    support::tickets,
};

/// The row that stores `event` from `device_id`.
fn row(device_id: Uuid, event: &Event, now: DateTime<Utc>) -> Result<device_event::ActiveModel> {
    let code = match &event.body {
        EventBody::Health(_) => None,
        EventBody::Fault(f) => Some(f.code.clone()),
    };
    Ok(device_event::ActiveModel {
        device_id: Set(device_id),
        event_id: Set(event.id.clone()),
        kind: Set(EventKind::of(event)),
        at: Set(event.at()),
        received_at: Set(now),
        code: Set(code),
        body: Set(to_json(event)?),
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
pub async fn store_all(
    db: &DatabaseConnection,
    items: &[Incoming],
    now: DateTime<Utc>,
) -> Result<Vec<Stored>> {
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
        problems::store::record(txn, it.device_id, &it.model, &new_faults, now).await?;
        tickets::faults::on_faults(txn, it.device_id, &new_faults, now).await?;
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
) -> Result<()> {
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
