//! Tickets follow the box's current subscriber, as helpdesks re-evaluate
//! SLAs when a ticket's requester changes: linking or unlinking a box moves
//! the tickets the box opened itself ([`follow_box`]); changing a
//! subscriber's plan or dedicated agent re-applies them to the subscriber's
//! open tickets ([`follow_subscriber`]). Each re-applies the plan, its SLA
//! targets (the clock keeps running from when the ticket opened), the
//! priority (unless a person set it) and the assignee (by
//! [`super::rules::reassign`]), logs what changed and queues the webhooks.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    rules::{self as rules, Channel, LogKind, Priority, Reassign, SlaTerms},
    store::{log, LogEntry, ACTIVE},
    view::summary,
};
use crate::{
    fleet::catalog::{rules::Severity, store as catalog},
    identity::users::store::name_of,
    platform::{
        entities::{plan, subscriber, ticket, ticket_log},
        error::Result,
        json::{from_json, to_json},
    },
    support::{
        agents::store::pick_assignee,
        plans::store::{terms_for_new, FALLBACK_PLAN},
        webhooks::{outbox, rules::WebhookEvent},
    },
};

/// The log's record of a re-routing: why, and the routing now.
#[derive(Debug, Serialize)]
struct Rerouted {
    reason: String,
    /// The subscriber's account, if the ticket has one.
    subscriber: Option<String>,
    plan: String,
    previous_plan: String,
    priority: Priority,
    /// The assignee's user name.
    assignee: Option<String>,
    first_response_secs: i64,
    resolution_secs: i64,
}

/// Moves the open tickets box `device_id` opened itself (by its faults) to
/// subscriber `to` (None: unlinked). Returns how many changed.
pub async fn follow_box(
    db: &impl ConnectionTrait,
    device_id: Uuid,
    to: Option<&subscriber::Model>,
    reason: &str,
    author: &str,
    now: DateTime<Utc>,
) -> Result<usize> {
    let tickets = ticket::Entity::find()
        .filter(ticket::Column::DeviceId.eq(device_id))
        .filter(ticket::Column::Channel.eq(Channel::Device))
        .filter(ticket::Column::Status.is_in(ACTIVE))
        .all(db)
        .await?;
    let mut changed = 0;
    for t in tickets {
        let old_dedicated = match t.subscriber_id {
            Some(id) => subscriber::Entity::find_by_id(id)
                .one(db)
                .await?
                .and_then(|s| s.dedicated_agent),
            None => None,
        };
        if reroute(db, t, to, old_dedicated, reason, author, now).await? {
            changed += 1;
        }
    }
    Ok(changed)
}

/// Re-applies subscriber `s`'s plan and dedicated agent to its open
/// tickets after a change; `old_dedicated`: its agent before. Returns how
/// many changed.
pub async fn follow_subscriber(
    db: &impl ConnectionTrait,
    s: &subscriber::Model,
    old_dedicated: Option<Uuid>,
    reason: &str,
    author: &str,
    now: DateTime<Utc>,
) -> Result<usize> {
    let tickets = ticket::Entity::find()
        .filter(ticket::Column::SubscriberId.eq(s.id))
        .filter(ticket::Column::Status.is_in(ACTIVE))
        .all(db)
        .await?;
    let mut changed = 0;
    for t in tickets {
        if reroute(db, t, Some(s), old_dedicated, reason, author, now).await? {
            changed += 1;
        }
    }
    Ok(changed)
}

/// Re-applies `to`'s routing to ticket `t`; false when nothing changed.
#[allow(clippy::too_many_arguments)]
async fn reroute(
    db: &impl ConnectionTrait,
    t: ticket::Model,
    to: Option<&subscriber::Model>,
    old_dedicated: Option<Uuid>,
    reason: &str,
    author: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let plan_key = to.map_or(FALLBACK_PLAN, |s| s.plan.as_str()).to_owned();
    let rank = plan::Entity::find_by_id(plan_key.clone())
        .one(db)
        .await?
        .map_or(0, |p| p.rank);
    let terms = terms_for_new(db, &plan_key, t.kind).await?;
    let old_terms: SlaTerms = from_json(&t.sla, "ticket SLA terms")?;
    // A priority a person set stays; otherwise it follows plan and severity
    // (a fault's from the catalog, major for a ticket from a channel).
    let set_by_hand = ticket_log::Entity::find()
        .filter(ticket_log::Column::TicketId.eq(t.id))
        .filter(ticket_log::Column::Kind.eq(LogKind::Priority))
        .count(db)
        .await?
        > 0;
    let severity = match &t.fault_code {
        Some(code) => catalog::get(db, code)
            .await?
            .map_or(Severity::Major, |e| e.entry.severity),
        None => Severity::Major,
    };
    let priority = if set_by_hand {
        t.priority
    } else {
        rules::priority(rank, severity)
    };
    let assignee = match rules::reassign(
        t.assignee,
        old_dedicated,
        to.and_then(|s| s.dedicated_agent),
    ) {
        Reassign::Keep => t.assignee,
        Reassign::To(a) => Some(a),
        Reassign::Queue => pick_assignee(db, None, t.kind, now).await?,
    };
    let subscriber_id = to.map(|s| s.id);
    if subscriber_id == t.subscriber_id
        && plan_key == t.plan
        && terms == old_terms
        && priority == t.priority
        && assignee == t.assignee
    {
        return Ok(false);
    }
    let reassigned = assignee != t.assignee;
    let previous_plan = t.plan.clone();
    let id = t.id;
    let mut row: ticket::ActiveModel = t.into();
    row.subscriber_id = Set(subscriber_id);
    row.plan = Set(plan_key.clone());
    row.sla = Set(to_json(&terms)?);
    row.priority = Set(priority);
    row.assignee = Set(assignee);
    row.updated_at = Set(now);
    let row = row.update(db).await?;
    let entry = LogEntry::new(LogKind::Rerouted, author).data(&Rerouted {
        reason: reason.to_owned(),
        subscriber: to.map(|s| s.account.clone()),
        plan: plan_key,
        previous_plan,
        priority,
        assignee: name_of(db, assignee).await?,
        first_response_secs: terms.first_response_secs,
        resolution_secs: terms.resolution_secs,
    });
    log(db, id, entry, now).await?;
    let view = summary(db, &row, now).await?;
    outbox::enqueue(db, WebhookEvent::TicketUpdated, &view, now).await?;
    if reassigned {
        outbox::enqueue(db, WebhookEvent::TicketAssigned, &view, now).await?;
    }
    tracing::info!(ticket = id, reason, "ticket re-routed");
    Ok(true)
}
