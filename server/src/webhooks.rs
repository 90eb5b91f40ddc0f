//! Outbound webhooks at the edge. [`enqueue`] writes one delivery per
//! subscribed endpoint into `webhook_deliveries`, in the caller's
//! transaction: an event is queued exactly when its change commits (a
//! transactional outbox). [`spawn`] runs the sender on the instance holding
//! the `webhooks` lease: it POSTs due deliveries, oldest first, signed
//! (`domain::webhook::signature`), and on failure retries with doubling
//! backoff until `tickets.webhook_max_attempts`.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use crate::{
    config::TicketsConfig,
    domain::webhook::{backoff_secs, signature, SIGNATURE_HEADER},
    entities::{webhook, webhook_delivery},
    error::ApiResult,
};

/// Deliveries sent per pass.
const PER_PASS: u64 = 100;

/// Whether an endpoint subscribed to `event` (`"*"` is every event).
fn wants(w: &webhook::Model, event: &str) -> bool {
    w.events
        .as_array()
        .is_some_and(|e| e.iter().any(|x| x == "*" || x == event))
}

/// Queues `event` with `data` for every active endpoint that wants it.
pub async fn enqueue(
    db: &impl ConnectionTrait,
    event: &str,
    data: &impl Serialize,
) -> ApiResult<()> {
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::Active.eq(true))
        .all(db)
        .await?;
    let now = Utc::now();
    let payload = serde_json::json!({
        "event": event,
        "at": now,
        "data": crate::tickets::json(data)?,
    });
    for w in hooks.iter().filter(|w| wants(w, event)) {
        webhook_delivery::Entity::insert(webhook_delivery::ActiveModel {
            webhook_id: Set(w.id),
            event: Set(event.to_owned()),
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

/// Sends what is due at `now`; returns how many were delivered.
pub async fn pass(
    db: &DatabaseConnection,
    http: &reqwest::Client,
    cfg: &TicketsConfig,
    now: DateTime<Utc>,
) -> ApiResult<u64> {
    use webhook_delivery::Column as C;
    let due = webhook_delivery::Entity::find()
        .filter(C::DeliveredAt.is_null())
        .filter(C::FailedAt.is_null())
        .filter(C::NextAttemptAt.lte(now))
        .order_by_asc(C::Id)
        .limit(PER_PASS)
        .all(db)
        .await?;
    let mut delivered = 0;
    for d in due {
        let Some(hook) = webhook::Entity::find_by_id(d.webhook_id).one(db).await? else {
            continue;
        };
        let outcome = send(http, &hook, &d).await;
        let attempts = d.attempts + 1;
        let mut row: webhook_delivery::ActiveModel = d.clone().into();
        row.attempts = Set(attempts);
        match outcome {
            Ok(()) => {
                row.delivered_at = Set(Some(Utc::now()));
                row.last_error = Set(None);
                delivered += 1;
            }
            Err(e) => {
                tracing::warn!(delivery = d.id, url = %hook.url, attempts, error = %e, "webhook delivery failed");
                row.last_error = Set(Some(crate::domain::problems::truncate_key(e.clone(), 500)));
                let attempts_u = u32::try_from(attempts).unwrap_or(u32::MAX);
                if attempts_u >= cfg.webhook_max_attempts {
                    row.failed_at = Set(Some(Utc::now()));
                } else {
                    row.next_attempt_at =
                        Set(Utc::now() + Duration::seconds(backoff_secs(attempts_u)));
                }
            }
        }
        row.update(db).await?;
    }
    Ok(delivered)
}

/// One POST: 2xx is delivered, anything else is retried.
async fn send(
    http: &reqwest::Client,
    hook: &webhook::Model,
    d: &webhook_delivery::Model,
) -> Result<(), String> {
    let body = serde_json::to_vec(&d.payload).map_err(|e| e.to_string())?;
    let sent_at = Utc::now().timestamp();
    let answer = http
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("x-wavecast-event", &d.event)
        .header("x-wavecast-delivery", d.id.to_string())
        .header(SIGNATURE_HEADER, signature(&hook.secret, sent_at, &body))
        .body(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("the endpoint answered {}", answer.status()))
    }
}

/// Sends due deliveries every second on the instance holding the
/// `webhooks` lease.
pub fn spawn(db: DatabaseConnection, cfg: TicketsConfig) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(
            cfg.webhook_timeout_secs.max(1),
        ))
        .build()?;
    let every = std::time::Duration::from_secs(1);
    crate::engine::scheduler::every_on_lease(
        db.clone(),
        "webhooks",
        every,
        chrono::TimeDelta::seconds(
            i64::try_from(cfg.webhook_timeout_secs.max(1)).unwrap_or(60) * 3 + 30,
        ),
        move || {
            let (db, http, cfg) = (db.clone(), http.clone(), cfg.clone());
            async move {
                if let Err(e) = pass(&db, &http, &cfg, Utc::now()).await {
                    tracing::warn!(error = %e, "webhook pass failed");
                }
            }
        },
    );
    Ok(())
}
