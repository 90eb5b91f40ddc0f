//! The webhook sender, a background job on the instance holding the
//! `webhooks` lease: it POSTs due deliveries, oldest first, signed
//! ([`super::rules::signature`]), and on failure retries with doubling
//! backoff until `tickets.webhook_max_attempts`.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::rules::{backoff_secs, signature, SIGNATURE_HEADER};
use crate::{
    fleet::problems::rules::truncate_key,
    platform::{
        clock::Clock,
        config::TicketsConfig,
        entities::{webhook, webhook_delivery},
        jobs::{JobError, Jobs},
    },
};

/// The job's lease.
pub const JOB: &str = "webhooks";

/// Deliveries sent per pass.
const PER_PASS: u64 = 100;

/// Sends what is due at `now`; returns how many were delivered.
pub async fn pass(
    db: &DatabaseConnection,
    http: &reqwest::Client,
    cfg: &TicketsConfig,
    now: DateTime<Utc>,
) -> Result<u64, JobError> {
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
        let outcome = send(http, &hook, &d, now).await;
        let attempts = d.attempts + 1;
        let mut row: webhook_delivery::ActiveModel = d.clone().into();
        row.attempts = Set(attempts);
        match outcome {
            Ok(()) => {
                row.delivered_at = Set(Some(now));
                row.last_error = Set(None);
                delivered += 1;
            }
            Err(e) => {
                tracing::warn!(delivery = d.id, url = %hook.url, attempts, error = %e, "webhook delivery failed");
                row.last_error = Set(Some(truncate_key(e.clone(), 500)));
                let attempts_u = u32::try_from(attempts).unwrap_or(u32::MAX);
                if attempts_u >= cfg.webhook_max_attempts {
                    row.failed_at = Set(Some(now));
                } else {
                    row.next_attempt_at = Set(now + Duration::seconds(backoff_secs(attempts_u)));
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
    now: DateTime<Utc>,
) -> Result<(), String> {
    let body = serde_json::to_vec(&d.payload).map_err(|e| e.to_string())?;
    let sent_at = now.timestamp();
    let answer = http
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("x-wavecast-event", d.event.as_str())
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

/// Sends due deliveries every second (and when kicked) on the instance
/// holding the `webhooks` lease.
pub fn spawn(
    jobs: &Jobs,
    db: DatabaseConnection,
    clock: Clock,
    cfg: TicketsConfig,
) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(
            cfg.webhook_timeout_secs.max(1),
        ))
        .build()?;
    let every = std::time::Duration::from_secs(1);
    let ttl = chrono::TimeDelta::seconds(
        i64::try_from(cfg.webhook_timeout_secs.max(1)).unwrap_or(60) * 3 + 30,
    );
    let job_clock = clock.clone();
    jobs.every_on_lease(db.clone(), clock, JOB, every, ttl, move || {
        let (db, http, cfg, clock) = (db.clone(), http.clone(), cfg.clone(), job_clock.clone());
        async move { pass(&db, &http, &cfg, clock.now()).await.map(|_| ()) }
    });
    Ok(())
}
