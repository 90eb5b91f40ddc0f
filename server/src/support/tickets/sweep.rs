//! The SLA sweep, a background job on the instance holding the `tickets`
//! lease: every `tickets.sweep_every_secs` it reads the tickets whose
//! stored `sweep_at` has come (`super::due`), warns once before a breach,
//! escalates once on a breach (priority up, handed to the policy's
//! escalation contact, `ticket.sla_breached`), and sends the satisfaction
//! surveys that are due (`support::surveys::store::send_due`).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    rules::{self as rules, Escalation, LogKind, Priority, SlaView},
    store::{log, LogEntry, ACTIVE, SYSTEM},
    view::{sla_of, summary},
};
use crate::{
    platform::{
        clock::Clock,
        config::TicketsConfig,
        entities::{ticket, user},
        jobs::{JobError, Jobs},
    },
    support::{
        surveys::store::send_due,
        webhooks::{outbox, rules::WebhookEvent},
    },
};

/// The job's lease.
pub const JOB: &str = "tickets";

/// What one sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub warned: u64,
    pub escalated: u64,
    pub surveys: u64,
    /// Tickets read whose stored due times were stale, now stamped.
    pub restamped: u64,
}

/// The log's record of an escalation.
#[derive(Debug, Serialize)]
struct Escalated {
    sla: SlaView,
    priority: Priority,
    assignee: Option<Uuid>,
}

/// One SLA sweep at `now`.
pub async fn sweep(
    db: &DatabaseConnection,
    cfg: &TicketsConfig,
    now: DateTime<Utc>,
) -> Result<Swept, JobError> {
    let mut out = Swept::default();
    // Only the tickets falling due (`sweep_at`, stamped on every save): the
    // cost follows them, not the number of open tickets.
    let due = ticket::Entity::find()
        .filter(ticket::Column::SweepAt.lte(now))
        .filter(ticket::Column::Status.is_in(ACTIVE))
        .filter(ticket::Column::BreachedAt.is_null())
        .order_by_asc(ticket::Column::SweepAt)
        .all(db)
        .await?;
    for t in due {
        let (terms, view) = sla_of(&t, now)?;
        let Some(step) = rules::escalation(&view, t.warned_at.is_some(), t.breached_at.is_some())
        else {
            // Stamped before its times were stored (or by an older
            // version): saving it stamps them afresh.
            ticket::ActiveModel::from(t).update(db).await?;
            out.restamped += 1;
            continue;
        };
        let txn = db.begin().await?;
        let mut row: ticket::ActiveModel = t.clone().into();
        row.updated_at = Set(now);
        let event = match step {
            Escalation::Warn => {
                row.warned_at = Set(Some(now));
                out.warned += 1;
                log(
                    &txn,
                    t.id,
                    LogEntry::new(LogKind::SlaWarning, SYSTEM).data(&view),
                    now,
                )
                .await?;
                WebhookEvent::SlaWarning
            }
            Escalation::Breach => {
                let priority = t.priority.bump();
                row.breached_at = Set(Some(now));
                row.warned_at = Set(Some(t.warned_at.unwrap_or(now)));
                row.priority = Set(priority);
                row.escalation_level = Set(t.escalation_level + 1);
                let to = match &terms.escalate_to {
                    Some(name) => user::Entity::find()
                        .filter(user::Column::Name.eq(name.clone()))
                        .one(&txn)
                        .await?
                        .map(|u| u.id),
                    None => None,
                };
                if let Some(to) = to {
                    row.assignee = Set(Some(to));
                }
                out.escalated += 1;
                let entry = LogEntry::new(LogKind::Escalated, SYSTEM).data(&Escalated {
                    sla: view,
                    priority,
                    assignee: to,
                });
                log(&txn, t.id, entry, now).await?;
                WebhookEvent::SlaBreached
            }
        };
        let t = row.update(&txn).await?;
        outbox::enqueue(&txn, event, &summary(&txn, &t, now).await?, now).await?;
        txn.commit().await?;
    }
    out.surveys = send_due(db, cfg, now).await?;
    Ok(out)
}

/// Runs [`sweep`] every `sweep_every_secs` (and when kicked) on the
/// instance holding the `tickets` lease.
pub fn spawn(jobs: &Jobs, db: DatabaseConnection, clock: Clock, cfg: TicketsConfig) {
    let every = std::time::Duration::from_secs(cfg.sweep_every_secs.max(1));
    let ttl = chrono::TimeDelta::from_std(every * 3).unwrap_or(chrono::TimeDelta::seconds(90));
    let job_clock = clock.clone();
    jobs.every_on_lease(db.clone(), clock, JOB, every, ttl, move || {
        let (db, cfg, clock) = (db.clone(), cfg.clone(), job_clock.clone());
        async move {
            let s = sweep(&db, &cfg, clock.now()).await?;
            if s != Swept::default() {
                tracing::info!(?s, "SLA sweep");
            }
            Ok(())
        }
    });
}
