//! Where a box's faults become tickets: [`on_faults`] runs in the
//! transaction that stores them (called by `intake::store` after fleet
//! problems). Per fault code and signature it counts a repeat on the
//! ticket already open (one counter and one "last occurrence" log line),
//! reopens a resolved one when the fault comes back
//! on a newer version, or opens one when the catalog's policy is crossed:
//! the kind by fault class and warranty, linked to the fleet problem and,
//! for support tickets, to the rollout that shipped the box's version.

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::Serialize;
use uuid::Uuid;
use wavecast_protocol::{checkin::Component, events::FaultReport, status::InstallState};

use super::{
    rules::{self as rules, Channel, LogKind, OnFault, TicketKind, TicketStatus},
    store::{log, open, LogEntry, NewTicket, SYSTEM},
    view::summary,
};
use crate::{
    fleet::{
        catalog::store as catalog,
        problems::{
            rules::{fault_groups, highest_versions},
            store::versions_from,
        },
    },
    platform::{
        entities::{
            columns::Stored, device, device_event, problem, rollout_device, ticket, ticket_log,
        },
        error::Result,
        json::to_json,
    },
    support::{
        warranty::store::warranty_of,
        webhooks::{outbox, rules::WebhookEvent},
    },
};

/// The log's record of a repeat (or of the repeat that reopened): the
/// faults in this report, the ticket's count since it opened, the last one.
#[derive(Debug, Serialize)]
struct Occurred {
    faults: i64,
    occurrences: i64,
    last_fault_at: Option<DateTime<Utc>>,
    versions: Option<serde_json::Value>,
}

/// The components the box ran, stored on a ticket as a problem stores its
/// resolved versions (name → version; read back with
/// `problems::versions_from`).
fn versions_json(installed: &[Component]) -> Result<serde_json::Value> {
    to_json(&highest_versions([installed]))
}

fn box_time(at: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(at, 0).single().unwrap_or_default()
}

/// Folds a box's new faults into its tickets at `now`, in the transaction
/// that stored them (after `fleet::problems::store::record`). Codes not in
/// the catalog open nothing.
pub async fn on_faults(
    txn: &impl ConnectionTrait,
    device_id: Uuid,
    faults: &[&FaultReport],
    now: DateTime<Utc>,
) -> Result<()> {
    if faults.is_empty() {
        return Ok(());
    }
    let Some(dev) = device::Entity::find_by_id(device_id).one(txn).await? else {
        return Ok(());
    };
    for g in fault_groups(faults) {
        let (code, signature, fs) = (g.code, g.signature, &g.faults);
        let Some(entry) = catalog::get(txn, code).await?.map(|e| e.entry) else {
            continue;
        };
        let policy = entry.policy;
        let key = rules::dedup_key(code, Some(signature));
        let existing = ticket::Entity::find()
            .filter(ticket::Column::DeviceId.eq(device_id))
            .filter(ticket::Column::DedupKey.eq(key.clone()))
            .filter(ticket::Column::Status.ne(TicketStatus::Closed))
            .one(txn)
            .await?;
        let installed = &g.latest.installed[..];
        let (first, last) = (box_time(g.first), box_time(g.last));
        let since = g.last - i64::from(policy.window_hours) * 3600;
        let in_window = device_event::Entity::find()
            .filter(device_event::Column::DeviceId.eq(device_id))
            .filter(device_event::Column::Code.eq(code))
            .filter(device_event::Column::At.gte(since))
            .count(txn)
            .await?;
        let status = existing.as_ref().map(|t| t.status);
        let resolved_at =
            versions_from(existing.as_ref().and_then(|t| t.resolved_versions.as_ref()));
        let decision = rules::on_fault(
            status.map(|s| (s, &resolved_at)),
            installed,
            rules::crosses(&policy, in_window),
        );
        let n = i64::try_from(fs.len()).unwrap_or(i64::MAX);
        match (decision, existing) {
            (OnFault::Wait, _) => {}
            (OnFault::Open, _) => {
                let w = warranty_of(txn, &dev, now).await?;
                let kind = rules::kind_for(entry.class, &w);
                let problem_id = problem::Entity::find()
                    .filter(problem::Column::Code.eq(code))
                    .filter(problem::Column::Signature.eq(signature))
                    .one(txn)
                    .await?
                    .map(|p| p.id);
                let rollout_id = if kind == TicketKind::Support {
                    shipped_by(txn, device_id).await?
                } else {
                    None
                };
                let t = open(
                    txn,
                    NewTicket {
                        kind,
                        subject: format!("{}: {}", entry.code, entry.title),
                        channel: Channel::Device,
                        subscriber_id: dev.subscriber_id,
                        device_id: Some(device_id),
                        severity: entry.severity,
                        fault_code: Some(code.to_owned()),
                        dedup_key: Some(key),
                        problem_id,
                        rollout_id,
                        occurrences: i64::try_from(in_window).unwrap_or(i64::MAX),
                        fault_times: Some((first, last)),
                        versions: Some(versions_json(installed)?),
                        author: SYSTEM.to_owned(),
                        body: g.latest.details.clone(),
                        public: false,
                    },
                    now,
                )
                .await?;
                tracing::info!(ticket = t.id, device = %device_id, code, kind = %kind, "a fault opened a ticket");
            }
            (OnFault::Count | OnFault::Reopen, Some(t)) => {
                let reopen = decision == OnFault::Reopen;
                let mut row: ticket::ActiveModel = t.clone().into();
                row.occurrences = Set(t.occurrences.saturating_add(n));
                row.last_fault_at = Set(Some(t.last_fault_at.map_or(last, |l| l.max(last))));
                row.versions = Set(Some(versions_json(installed)?));
                row.updated_at = Set(now);
                if reopen {
                    row.status = Set(TicketStatus::Open);
                    row.resolved_at = Set(None);
                    row.reopened_count = Set(t.reopened_count + 1);
                }
                let row = row.update(txn).await?;
                let kind = if reopen {
                    LogKind::Reopened
                } else {
                    // One "last occurrence" line, not one per repeat: the
                    // previous one gives way to this.
                    ticket_log::Entity::delete_many()
                        .filter(ticket_log::Column::TicketId.eq(t.id))
                        .filter(ticket_log::Column::Kind.eq(LogKind::Occurrence))
                        .exec(txn)
                        .await?;
                    LogKind::Occurrence
                };
                let entry = LogEntry::new(kind, SYSTEM).data(&Occurred {
                    faults: n,
                    occurrences: row.occurrences,
                    last_fault_at: row.last_fault_at,
                    versions: row.versions.clone(),
                });
                log(txn, t.id, entry, now).await?;
                if reopen {
                    let view = summary(txn, &row, now).await?;
                    outbox::enqueue(txn, WebhookEvent::TicketReopened, &view, now).await?;
                }
            }
            (OnFault::Count | OnFault::Reopen, None) => {}
        }
    }
    Ok(())
}

/// The rollout that last updated the box successfully: the one that
/// shipped the version it runs.
async fn shipped_by(db: &impl ConnectionTrait, device_id: Uuid) -> Result<Option<Uuid>> {
    Ok(rollout_device::Entity::find()
        .filter(rollout_device::Column::DeviceId.eq(device_id))
        .filter(rollout_device::Column::State.eq(Stored(InstallState::Succeeded)))
        .order_by_desc(rollout_device::Column::UpdatedAt)
        .one(db)
        .await?
        .map(|r| r.rollout_id))
}
