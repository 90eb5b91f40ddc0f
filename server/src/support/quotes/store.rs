//! Repair quotes at the SQL edge: proposing one on a post-warranty ticket
//! (the ticket then waits on the subscriber) and recording the answer,
//! by the lifecycle in [`super::rules`].

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DatabaseConnection, Set, TransactionTrait};

use super::rules::{may_quote, Quote};
use crate::{
    platform::{
        entities::ticket,
        error::{Error, Result},
        json::{from_json_opt, to_json},
    },
    support::{
        tickets::{
            rules::{LogKind, TicketStatus},
            store::{change, find, log, Change, LogEntry},
            view::{summary, TicketView},
        },
        webhooks::{outbox, rules::WebhookEvent},
    },
};

/// Puts `quote` on ticket `id` at `now`: logged publicly, `ticket.quote`
/// queued, and an active ticket set pending on the subscriber.
pub async fn propose(
    db: &impl ConnectionTrait,
    id: i64,
    quote: Quote,
    now: DateTime<Utc>,
) -> Result<TicketView> {
    let t = find(db, id).await?;
    may_quote(t.kind).map_err(|e| Error::Conflict(format!("ticket {id}: {e}")))?;
    let mut row: ticket::ActiveModel = t.clone().into();
    row.quote = Set(Some(to_json(&quote)?));
    row.update(db).await?;
    let entry = LogEntry::new(LogKind::Quote, &quote.quoted_by)
        .public(true)
        .body(quote.note.clone())
        .data(&quote);
    log(db, id, entry, now).await?;
    let t = if t.status.is_active() && t.status != TicketStatus::Pending {
        change(
            db,
            id,
            Change::status(TicketStatus::Pending),
            &quote.quoted_by,
            now,
        )
        .await?
    } else {
        find(db, id).await?
    };
    let view = summary(db, &t, now).await?;
    outbox::enqueue(db, WebhookEvent::Quote, &view, now).await?;
    Ok(view)
}

/// Records the subscriber's answer to ticket `id`'s quote at `now` (staff
/// taking it by phone, or the subscriber API); a ticket pending on the
/// answer goes back to open.
pub async fn answer_quote(
    db: &DatabaseConnection,
    id: i64,
    accepted: bool,
    author: String,
    now: DateTime<Utc>,
) -> Result<TicketView> {
    db.transaction::<_, _, Error>(|txn| {
        Box::pin(async move {
            let t = find(txn, id).await?;
            let Some(mut quote) = from_json_opt::<Quote>(t.quote.as_ref(), "ticket quote")? else {
                return Err(Error::Conflict(format!("ticket {id} has no quote")));
            };
            quote
                .answer(accepted, now)
                .map_err(|e| Error::Conflict(format!("ticket {id}: {e}")))?;
            let mut row: ticket::ActiveModel = t.clone().into();
            row.quote = Set(Some(to_json(&quote)?));
            row.update(txn).await?;
            let entry = LogEntry::new(LogKind::QuoteAnswer, &author)
                .public(true)
                .data(&quote);
            log(txn, id, entry, now).await?;
            let t = if t.status == TicketStatus::Pending {
                change(txn, id, Change::status(TicketStatus::Open), &author, now).await?
            } else {
                find(txn, id).await?
            };
            let view = summary(txn, &t, now).await?;
            outbox::enqueue(txn, WebhookEvent::QuoteAnswered, &view, now).await?;
            Ok(view)
        })
    })
    .await
    .map_err(Error::from)
}
