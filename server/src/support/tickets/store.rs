//! Tickets at the SQL edge: opening one (plan and SLA from the
//! subscriber, priority from plan and severity, assignee by the rules),
//! the changes support staff make (status by the transition rule, with the
//! SLA clock paused while pending; assignee; priority), comments, the
//! queue and a ticket's log. Every change is logged (`ticket_log`) and
//! every one an outside helpdesk cares about leaves a webhook delivery in
//! the same transaction. Faults reach tickets through [`super::faults`].

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    rules::{self as rules, Channel, LogKind, Priority, TicketKind, TicketStatus},
    view::{summary, TicketView},
};
use crate::{
    fleet::catalog::rules::Severity,
    identity::users::store::name_of,
    platform::{
        entities::{plan, subscriber, ticket, ticket_log},
        error::{Error, Result},
        json::{from_json, to_json},
    },
    support::{
        agents::store::pick_assignee,
        plans::store::{terms_for_new, FALLBACK_PLAN},
        sla::Pause,
        webhooks::{outbox, rules::WebhookEvent},
    },
};

/// The statuses in which support still owes a ticket work
/// (`TicketStatus::is_active`).
pub const ACTIVE: [TicketStatus; 3] =
    [TicketStatus::New, TicketStatus::Open, TicketStatus::Pending];

/// Who wrote a log entry the server made by itself.
pub const SYSTEM: &str = "wavecast";

/// One entry of a ticket's log, to write.
#[derive(Debug)]
pub struct LogEntry {
    pub kind: LogKind,
    pub author: String,
    /// Shown to the subscriber.
    pub public: bool,
    pub body: Option<String>,
    pub data: Option<serde_json::Value>,
}

impl LogEntry {
    /// An internal entry by `author`.
    pub fn new(kind: LogKind, author: &str) -> Self {
        Self {
            kind,
            author: author.to_owned(),
            public: false,
            body: None,
            data: None,
        }
    }

    /// Shown to the subscriber too.
    pub fn public(mut self, public: bool) -> Self {
        self.public = public;
        self
    }

    pub fn body(mut self, body: Option<String>) -> Self {
        self.body = body;
        self
    }

    /// With what changed (a typed value).
    pub fn data(mut self, data: &impl Serialize) -> Self {
        self.data = serde_json::to_value(data).ok();
        self
    }
}

/// Writes one entry of a ticket's log at `at`.
pub async fn log(
    db: &impl ConnectionTrait,
    ticket_id: i64,
    entry: LogEntry,
    at: DateTime<Utc>,
) -> Result<()> {
    ticket_log::Entity::insert(ticket_log::ActiveModel {
        ticket_id: Set(ticket_id),
        at: Set(at),
        kind: Set(entry.kind),
        author: Set(entry.author),
        public: Set(entry.public),
        body: Set(entry.body),
        data: Set(entry.data),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(())
}

/// What a new ticket is opened with.
#[derive(Debug)]
pub struct NewTicket {
    pub kind: TicketKind,
    pub subject: String,
    pub channel: Channel,
    pub subscriber_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    pub severity: Severity,
    pub fault_code: Option<String>,
    pub dedup_key: Option<String>,
    pub problem_id: Option<Uuid>,
    pub rollout_id: Option<Uuid>,
    pub occurrences: i64,
    pub fault_times: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub versions: Option<serde_json::Value>,
    /// The first log entry: who opened it and what they said.
    pub author: String,
    pub body: Option<String>,
    pub public: bool,
}

impl NewTicket {
    /// A ticket someone opened from a channel (not a box's fault): no fault
    /// code, no dedup key, severity major, its first log entry public.
    pub fn from_channel(
        kind: TicketKind,
        channel: Channel,
        subject: String,
        subscriber_id: Option<Uuid>,
        device_id: Option<Uuid>,
        author: String,
        body: Option<String>,
    ) -> NewTicket {
        NewTicket {
            kind,
            subject,
            channel,
            subscriber_id,
            device_id,
            severity: Severity::Major,
            fault_code: None,
            dedup_key: None,
            problem_id: None,
            rollout_id: None,
            occurrences: 0,
            fault_times: None,
            versions: None,
            author,
            body,
            public: true,
        }
    }
}

/// What a new ticket needs to know about whom it is for.
struct Party {
    subscriber: Option<subscriber::Model>,
    plan: String,
    rank: i32,
}

async fn party(db: &impl ConnectionTrait, subscriber_id: Option<Uuid>) -> Result<Party> {
    let subscriber = match subscriber_id {
        Some(id) => subscriber::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let plan_key = subscriber
        .as_ref()
        .map_or(FALLBACK_PLAN.to_owned(), |s| s.plan.clone());
    let rank = plan::Entity::find_by_id(plan_key.clone())
        .one(db)
        .await?
        .map_or(0, |p| p.rank);
    Ok(Party {
        subscriber,
        plan: plan_key,
        rank,
    })
}

/// The log's record of an assignment: the assignee's user name.
#[derive(Debug, Serialize)]
struct Assigned {
    assignee: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dedicated: Option<bool>,
}

/// The log's record of a status change.
#[derive(Debug, Serialize)]
struct StatusChange {
    from: TicketStatus,
    to: TicketStatus,
}

/// The log's record of a priority change.
#[derive(Debug, Serialize)]
struct PriorityChange {
    priority: Priority,
}

/// Opens a ticket at `now`: plan and SLA from the subscriber, priority
/// from plan and severity, assignee by the rules; logs it and queues
/// `ticket.opened`.
pub async fn open(
    db: &impl ConnectionTrait,
    t: NewTicket,
    now: DateTime<Utc>,
) -> Result<ticket::Model> {
    let who = party(db, t.subscriber_id).await?;
    let terms = terms_for_new(db, &who.plan, t.kind).await?;
    let dedicated = who.subscriber.as_ref().and_then(|s| s.dedicated_agent);
    let assignee = pick_assignee(db, dedicated, t.kind, now).await?;
    // `insert` on the model (not `Entity::insert`) so the entity stamps its
    // due times; the SLA fields are set explicitly for the same reason.
    let row = ticket::ActiveModel {
        kind: Set(t.kind),
        status: Set(TicketStatus::New),
        priority: Set(rules::priority(who.rank, t.severity)),
        subject: Set(t.subject),
        channel: Set(t.channel),
        subscriber_id: Set(t.subscriber_id),
        device_id: Set(t.device_id),
        plan: Set(who.plan),
        fault_code: Set(t.fault_code),
        dedup_key: Set(t.dedup_key),
        problem_id: Set(t.problem_id),
        rollout_id: Set(t.rollout_id),
        assignee: Set(assignee),
        occurrences: Set(t.occurrences),
        first_fault_at: Set(t.fault_times.map(|f| f.0)),
        last_fault_at: Set(t.fault_times.map(|f| f.1)),
        versions: Set(t.versions),
        sla: Set(to_json(&terms)?),
        pauses: Set(to_json(&Vec::<Pause>::new())?),
        first_response_at: Set(None),
        resolved_at: Set(None),
        closed_at: Set(None),
        warned_at: Set(None),
        breached_at: Set(None),
        escalation_level: Set(0),
        reopened_count: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    let opened = LogEntry::new(LogKind::Opened, &t.author)
        .public(t.public)
        .body(t.body);
    log(db, row.id, opened, now).await?;
    if let Some(a) = assignee {
        let entry = LogEntry::new(LogKind::Assigned, SYSTEM).data(&Assigned {
            assignee: name_of(db, Some(a)).await?,
            dedicated: Some(dedicated.is_some()),
        });
        log(db, row.id, entry, now).await?;
    }
    let view = summary(db, &row, now).await?;
    outbox::enqueue(db, WebhookEvent::TicketOpened, &view, now).await?;
    Ok(row)
}

/// The ticket `id`, or 404.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<ticket::Model> {
    ticket::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no ticket {id}")))
}

/// A change support staff ask for.
#[derive(Debug, Default)]
pub struct Change {
    pub status: Option<TicketStatus>,
    pub assignee: Option<Option<Uuid>>,
    pub priority: Option<Priority>,
}

impl Change {
    /// Only a status change.
    pub fn status(to: TicketStatus) -> Self {
        Self {
            status: Some(to),
            ..Self::default()
        }
    }
}

/// Applies `change` to ticket `id` at `now`: status by the transition rule
/// (pending starts a pause of the SLA clock, leaving it ends it; resolving
/// records the box's versions, so a fault on a newer one reopens),
/// assignee, priority. Logs each and queues the webhooks.
pub async fn change(
    db: &impl ConnectionTrait,
    id: i64,
    change: Change,
    author: &str,
    now: DateTime<Utc>,
) -> Result<ticket::Model> {
    let t = find(db, id).await?;
    let mut row: ticket::ActiveModel = t.clone().into();
    let mut events = Vec::new();
    if let Some(to) = change.status {
        let from = t.status;
        rules::transition(from, to).map_err(Error::Conflict)?;
        let mut pauses: Vec<Pause> = from_json(&t.pauses, "ticket pauses")?;
        if to == TicketStatus::Pending {
            pauses.push(Pause {
                from: now,
                to: None,
            });
        } else if from == TicketStatus::Pending {
            if let Some(p) = pauses.iter_mut().find(|p| p.to.is_none()) {
                p.to = Some(now);
            }
        }
        row.pauses = Set(to_json(&pauses)?);
        row.status = Set(to);
        match to {
            TicketStatus::Resolved => {
                row.resolved_at = Set(Some(now));
                row.resolved_versions = Set(t.versions.clone());
                events.push(WebhookEvent::TicketResolved);
            }
            TicketStatus::Closed => {
                row.closed_at = Set(Some(now));
                events.push(WebhookEvent::TicketClosed);
            }
            TicketStatus::Open if from == TicketStatus::Resolved => {
                row.resolved_at = Set(None);
                row.reopened_count = Set(t.reopened_count + 1);
                events.push(WebhookEvent::TicketReopened);
            }
            _ => events.push(WebhookEvent::TicketUpdated),
        }
        let entry = LogEntry::new(LogKind::Status, author)
            .public(true)
            .data(&StatusChange { from, to });
        log(db, id, entry, now).await?;
    }
    if let Some(a) = change.assignee {
        row.assignee = Set(a);
        let entry = LogEntry::new(LogKind::Assigned, author).data(&Assigned {
            assignee: name_of(db, a).await?,
            dedicated: None,
        });
        log(db, id, entry, now).await?;
        events.push(WebhookEvent::TicketAssigned);
    }
    if let Some(p) = change.priority {
        row.priority = Set(p);
        let entry = LogEntry::new(LogKind::Priority, author).data(&PriorityChange { priority: p });
        log(db, id, entry, now).await?;
        events.push(WebhookEvent::TicketUpdated);
    }
    row.updated_at = Set(now);
    let t = row.update(db).await?;
    events.dedup();
    let view = summary(db, &t, now).await?;
    for e in events {
        outbox::enqueue(db, e, &view, now).await?;
    }
    Ok(t)
}

/// What `ticket.commented` carries.
#[derive(Debug, Serialize)]
struct Commented<'a> {
    ticket: TicketView,
    author: &'a str,
    public: bool,
}

/// Adds a comment at `now`. A public comment from support staff is the
/// first response if none was given yet, and moves a new ticket to open; a
/// subscriber's comment on a ticket pending on them reopens it.
pub async fn comment(
    db: &impl ConnectionTrait,
    id: i64,
    author: &str,
    by_staff: bool,
    public: bool,
    body: String,
    now: DateTime<Utc>,
) -> Result<ticket::Model> {
    let t = find(db, id).await?;
    let status = t.status;
    if status == TicketStatus::Closed {
        return Err(Error::Conflict(format!("ticket {id} is closed")));
    }
    let entry = LogEntry::new(LogKind::Comment, author)
        .public(public)
        .body(Some(body));
    log(db, id, entry, now).await?;
    let mut row: ticket::ActiveModel = t.clone().into();
    if by_staff && public && t.first_response_at.is_none() {
        row.first_response_at = Set(Some(now));
    }
    let next = match status {
        TicketStatus::New if by_staff && public => Some(TicketStatus::Open),
        TicketStatus::Pending if !by_staff => Some(TicketStatus::Open),
        _ => None,
    };
    row.updated_at = Set(now);
    let t = row.update(db).await?;
    let t = match next {
        Some(to) => change(db, id, Change::status(to), author, now).await?,
        None => t,
    };
    let ticket = summary(db, &t, now).await?;
    let payload = Commented {
        ticket,
        author,
        public,
    };
    outbox::enqueue(db, WebhookEvent::TicketCommented, &payload, now).await?;
    Ok(t)
}

/// A ticket's log, oldest first; only public entries when `public_only`.
pub async fn history(
    db: &impl ConnectionTrait,
    id: i64,
    public_only: bool,
) -> Result<Vec<ticket_log::Model>> {
    let mut q = ticket_log::Entity::find().filter(ticket_log::Column::TicketId.eq(id));
    if public_only {
        q = q.filter(ticket_log::Column::Public.eq(true));
    }
    Ok(q.order_by_asc(ticket_log::Column::Id).all(db).await?)
}
