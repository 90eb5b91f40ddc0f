//! Warranty returns at the SQL edge: replacing a box ([`replace`]: the
//! subscriber, the warranty start, the tickets and the licence activations
//! move to the new box, the old one is retired) and recording the return on its ticket
//! ([`record`]).

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
};
use uuid::Uuid;

use super::rules::Rma;
use crate::{
    fleet::devices::rules::DeviceStatus,
    licences::bindings::move_to_replacement,
    platform::{
        entities::{device, ticket},
        error::{Error, Result},
        json::to_json,
    },
    support::{
        tickets::{
            rules::LogKind,
            store::{find, log, LogEntry},
            view::{summary, TicketView},
        },
        webhooks::{outbox, rules::WebhookEvent},
    },
};

/// Replaces box `old` with `new` under warranty: the subscriber, the
/// activation date (the warranty runs on from the original purchase) and
/// the tickets move to the new box; the old one is decommissioned (its
/// credential stops working) and points at its replacement; its licences
/// and their activations move to the new box. Returns the old box as
/// stored now and how many licence activations moved.
pub async fn replace(
    txn: &impl ConnectionTrait,
    old: Uuid,
    new: Uuid,
    now: DateTime<Utc>,
) -> Result<(device::Model, u64)> {
    let o = device::Entity::find_by_id(old)
        .one(txn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no device {old}")))?;
    let n = device::Entity::find_by_id(new)
        .one(txn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no device {new}")))?;
    let moved = move_to_replacement(txn, old, &n).await?;
    let mut nm: device::ActiveModel = n.into();
    nm.subscriber_id = Set(o.subscriber_id);
    nm.activated_at = Set(o.activated_at.or(Some(now)));
    nm.changed_at = Set(Some(now));
    nm.update(txn).await?;
    ticket::Entity::update_many()
        .col_expr(ticket::Column::DeviceId, Expr::value(new))
        .filter(ticket::Column::DeviceId.eq(old))
        .exec(txn)
        .await?;
    let mut om: device::ActiveModel = o.into();
    om.subscriber_id = Set(None);
    om.replaced_by = Set(Some(new));
    om.status = Set(DeviceStatus::Decommissioned);
    om.credential_prefix = Set(None);
    om.credential_hash = Set(None);
    om.credential_expires_at = Set(None);
    om.changed_at = Set(Some(now));
    Ok((om.update(txn).await?, moved))
}

/// Records `rma` on ticket `t` at `now`: stored, logged publicly, and
/// `ticket.rma` queued.
pub async fn record(
    db: &impl ConnectionTrait,
    t: ticket::Model,
    rma: &Rma,
    now: DateTime<Utc>,
) -> Result<TicketView> {
    let id = t.id;
    let mut row: ticket::ActiveModel = t.into();
    row.rma = Set(Some(to_json(rma)?));
    row.updated_at = Set(now);
    row.update(db).await?;
    let entry = LogEntry::new(LogKind::Rma, &rma.by)
        .public(true)
        .body(rma.note.clone())
        .data(rma);
    log(db, id, entry, now).await?;
    let view = summary(db, &find(db, id).await?, now).await?;
    outbox::enqueue(db, WebhookEvent::Rma, &view, now).await?;
    Ok(view)
}
