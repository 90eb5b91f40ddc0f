//! The webhook outbox: [`enqueue`] writes one delivery per subscribed
//! endpoint into `webhook_deliveries`, in the caller's transaction, so an
//! event is queued exactly when its change commits. `super::sender`
//! delivers them.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;

use super::rules::{wants, WebhookEvent};
use crate::platform::{
    entities::{webhook, webhook_delivery},
    error::Result,
    json::{from_json, to_json},
};

/// What every delivery's body is: the event, when, and its data.
#[derive(Debug, Serialize)]
struct Payload<'a, T> {
    event: WebhookEvent,
    at: DateTime<Utc>,
    data: &'a T,
}

/// Queues `event` with `data`, at `now`, for every active endpoint that
/// wants it.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    event: WebhookEvent,
    data: &impl Serialize,
    now: DateTime<Utc>,
) -> Result<()> {
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::Active.eq(true))
        .all(db)
        .await?;
    let payload = to_json(&Payload {
        event,
        at: now,
        data,
    })?;
    for w in hooks {
        let names: Vec<String> = from_json(&w.events, "webhook events")?;
        if !wants(&names, event) {
            continue;
        }
        webhook_delivery::Entity::insert(webhook_delivery::ActiveModel {
            webhook_id: Set(w.id),
            event: Set(event),
            payload: Set(payload.clone()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            created_at: Set(now),
            ..Default::default()
        })
        .exec(db)
        .await?;
    }
    Ok(())
}
