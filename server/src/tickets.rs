//! After-sales tickets at the SQL edge. [`on_faults`] runs in the
//! transaction that stores a box's new faults: it opens a ticket when the
//! catalog's policy is crossed (kind by class and warranty, SLA by plan,
//! assignee by the VIP's dedicated agent or round-robin), counts repeats on
//! the ticket already open, and reopens a resolved one when the fault comes
//! back on a newer version. [`sweep`] (one instance, the `tickets` lease)
//! warns before a breach, escalates on one, and sends satisfaction surveys.
//! [`change`] applies support staff's status, assignee and priority
//! changes; [`comment`] their and subscribers' comments. Rules live in
//! `domain::tickets`; every change that matters to an outside helpdesk
//! leaves a webhook delivery in the same transaction (`crate::webhooks`).

use chrono::{DateTime, Duration, TimeZone, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::Serialize;
use uuid::Uuid;
use wavecast_protocol::{checkin::Component, events::FaultReport};

use crate::{
    config::TicketsConfig,
    domain::{
        faults::Severity,
        problems::{fault_groups, highest_versions},
        sla::{CalendarSpec, Pause},
        tickets::{
            self as rules, Channel, Clock, Escalation, OnFault, Priority, SlaTerms, SlaView,
            TicketKind, TicketStatus, Warranty,
        },
        token,
    },
    entities::{
        device, device_event, model_warranty, plan, problem, rollout_device, sla_policy,
        subscriber, support_agent, survey, ticket, ticket_log, user,
    },
    error::{ApiError, ApiResult},
    webhooks,
};

/// The statuses in which support still owes a ticket work (as stored;
/// `TicketStatus::is_active`).
pub const ACTIVE: [&str; 3] = ["new", "open", "pending"];

/// Who wrote a log entry the server made by itself.
pub const SYSTEM: &str = "wavecast";

/// The default plans: key, name, rank, and the first-response and
/// resolution targets in hours, around the clock (`true`) or in business
/// hours.
const DEFAULT_PLANS: [(&str, &str, i32, i64, i64, bool); 4] = [
    ("basic", "Basic", 0, 24, 120, false),
    ("standard", "Standard", 1, 8, 72, false),
    ("premium", "Premium", 2, 4, 24, true),
    ("vip", "VIP", 3, 1, 8, true),
];

/// The plan of tickets for boxes no subscriber is linked to.
pub const FALLBACK_PLAN: &str = "basic";

/// Monday to Friday, 09:00–18:00 in `tz`.
pub fn office_hours(tz: &str) -> CalendarSpec {
    let day = |d: &str| (d.to_owned(), ["09:00".to_owned(), "18:00".to_owned()]);
    CalendarSpec::BusinessHours {
        timezone: tz.to_owned(),
        hours: ["mon", "tue", "wed", "thu", "fri"].map(day).into(),
        holidays: Vec::new(),
    }
}

/// Writes the default plans and their SLA policies when there are no plans
/// at all (a fresh database), so deleting or editing them sticks.
pub async fn seed_defaults(db: &DatabaseConnection, cfg: &TicketsConfig) -> ApiResult<()> {
    if plan::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    for (key, name, rank, first_h, res_h, always) in DEFAULT_PLANS {
        plan::Entity::insert(plan::ActiveModel {
            key: Set(key.to_owned()),
            name: Set(name.to_owned()),
            rank: Set(rank),
            created_at: Set(now),
        })
        .exec(&txn)
        .await?;
        let calendar = if always {
            CalendarSpec::Always
        } else {
            office_hours(&cfg.business_timezone)
        };
        for kind in TicketKind::ALL {
            put_policy(
                &txn,
                key,
                kind,
                &SlaTerms {
                    first_response_secs: first_h * 3600,
                    resolution_secs: res_h * 3600,
                    calendar: calendar.clone(),
                    warn_pct: 80,
                    escalate_to: None,
                },
            )
            .await?;
        }
    }
    txn.commit().await?;
    tracing::info!("default plans and SLA policies written");
    Ok(())
}

/// Creates or replaces a plan's policy for `kind` (checked by the caller).
pub async fn put_policy(
    db: &impl ConnectionTrait,
    plan: &str,
    kind: TicketKind,
    terms: &SlaTerms,
) -> ApiResult<()> {
    use sea_orm::sea_query::OnConflict;
    use sla_policy::Column as C;
    sla_policy::Entity::insert(sla_policy::ActiveModel {
        plan: Set(plan.to_owned()),
        kind: Set(kind.as_str().to_owned()),
        first_response_secs: Set(terms.first_response_secs),
        resolution_secs: Set(terms.resolution_secs),
        calendar: Set(json(&terms.calendar)?),
        warn_pct: Set(i32::from(terms.warn_pct)),
        escalate_to: Set(terms.escalate_to.clone()),
    })
    .on_conflict(
        OnConflict::columns([C::Plan, C::Kind])
            .update_columns([
                C::FirstResponseSecs,
                C::ResolutionSecs,
                C::Calendar,
                C::WarnPct,
                C::EscalateTo,
            ])
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}

pub(crate) fn json(v: &impl Serialize) -> ApiResult<serde_json::Value> {
    Ok(serde_json::to_value(v).map_err(anyhow::Error::from)?)
}

fn from_json<T: serde::de::DeserializeOwned>(v: &serde_json::Value, what: &str) -> ApiResult<T> {
    serde_json::from_value(v.clone())
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored {what} is unreadable: {e}")))
}

/// The terms of `plan`'s policy for `kind`.
pub async fn terms_of(
    db: &impl ConnectionTrait,
    plan: &str,
    kind: TicketKind,
) -> ApiResult<SlaTerms> {
    let p = sla_policy::Entity::find_by_id((plan.to_owned(), kind.as_str().to_owned()))
        .one(db)
        .await?
        .ok_or_else(|| {
            ApiError::Conflict(format!("plan {plan} has no SLA policy for {kind} tickets"))
        })?;
    Ok(SlaTerms {
        first_response_secs: p.first_response_secs,
        resolution_secs: p.resolution_secs,
        calendar: from_json(&p.calendar, "calendar")?,
        warn_pct: u8::try_from(p.warn_pct.clamp(1, 100)).unwrap_or(80),
        escalate_to: p.escalate_to,
    })
}

/// The terms a new ticket opens with: its plan's policy for `kind`, else
/// the fallback plan's, else a day to answer and five to resolve in office
/// hours (UTC). A gap in the after-sales set-up must never refuse a box's
/// faults: ticket opening runs in the transaction that stores them.
async fn terms_for_new(
    db: &impl ConnectionTrait,
    plan: &str,
    kind: TicketKind,
) -> ApiResult<SlaTerms> {
    for p in [plan, FALLBACK_PLAN] {
        match terms_of(db, p, kind).await {
            Ok(t) => return Ok(t),
            Err(ApiError::Conflict(_)) => {
                tracing::warn!(plan = p, %kind, "no SLA policy; falling back")
            }
            Err(e) => return Err(e),
        }
    }
    Ok(last_resort_terms("UTC"))
}

/// The terms when no policy applies: a day to answer and five to resolve,
/// in office hours in `tz`.
pub fn last_resort_terms(tz: &str) -> SlaTerms {
    SlaTerms {
        first_response_secs: 24 * 3600,
        resolution_secs: 120 * 3600,
        calendar: office_hours(tz),
        warn_pct: 80,
        escalate_to: None,
    }
}

/// A box's warranty now.
pub async fn warranty_of(
    db: &impl ConnectionTrait,
    d: &device::Model,
    at: DateTime<Utc>,
) -> ApiResult<Warranty> {
    let months = model_warranty::Entity::find_by_id(d.model.clone())
        .one(db)
        .await?
        .and_then(|w| u32::try_from(w.months).ok());
    Ok(rules::warranty(
        d.activated_at,
        months,
        d.warranty_void_reason.as_deref(),
        at,
    ))
}

/// What a new ticket needs to know about whom it is for.
struct Party {
    subscriber: Option<subscriber::Model>,
    plan: String,
    rank: i32,
}

async fn party(db: &impl ConnectionTrait, subscriber_id: Option<Uuid>) -> ApiResult<Party> {
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

/// The agent a new ticket of `kind` goes to, noting the round-robin turn.
async fn pick_assignee(
    db: &impl ConnectionTrait,
    dedicated: Option<Uuid>,
    kind: TicketKind,
    now: DateTime<Utc>,
) -> ApiResult<Option<Uuid>> {
    if dedicated.is_some() {
        return Ok(dedicated);
    }
    let on_shift: Vec<(Uuid, Option<DateTime<Utc>>)> = support_agent::Entity::find()
        .filter(support_agent::Column::OnShift.eq(true))
        .all(db)
        .await?
        .into_iter()
        .filter(|a| {
            a.queues
                .as_array()
                .is_some_and(|q| q.iter().any(|k| k.as_str() == Some(kind.as_str())))
        })
        .map(|a| (a.user_id, a.last_assigned_at))
        .collect();
    let chosen = rules::assignee(None, &on_shift);
    if let Some(id) = chosen {
        support_agent::Entity::update_many()
            .col_expr(support_agent::Column::LastAssignedAt, Expr::value(now))
            .filter(support_agent::Column::UserId.eq(id))
            .exec(db)
            .await?;
    }
    Ok(chosen)
}

/// Writes one entry of a ticket's log.
pub async fn log(
    db: &impl ConnectionTrait,
    ticket_id: i64,
    kind: &str,
    author: &str,
    public: bool,
    body: Option<String>,
    data: Option<serde_json::Value>,
) -> ApiResult<()> {
    ticket_log::Entity::insert(ticket_log::ActiveModel {
        ticket_id: Set(ticket_id),
        at: Set(Utc::now()),
        kind: Set(kind.to_owned()),
        author: Set(author.to_owned()),
        public: Set(public),
        body: Set(body),
        data: Set(data),
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

/// Opens a ticket: plan and SLA from the subscriber, priority from plan and
/// severity, assignee by the rules; logs it and queues `ticket.opened`.
pub async fn open(db: &impl ConnectionTrait, t: NewTicket) -> ApiResult<ticket::Model> {
    let now = Utc::now();
    let who = party(db, t.subscriber_id).await?;
    let terms = terms_for_new(db, &who.plan, t.kind).await?;
    let dedicated = who.subscriber.as_ref().and_then(|s| s.dedicated_agent);
    let assignee = pick_assignee(db, dedicated, t.kind, now).await?;
    let row = ticket::Entity::insert(ticket::ActiveModel {
        kind: Set(t.kind.as_str().to_owned()),
        status: Set(TicketStatus::New.as_str().to_owned()),
        priority: Set(rules::priority(who.rank, t.severity).as_str().to_owned()),
        subject: Set(t.subject),
        channel: Set(t.channel.as_str().to_owned()),
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
        sla: Set(json(&terms)?),
        pauses: Set(serde_json::json!([])),
        escalation_level: Set(0),
        reopened_count: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .exec_with_returning(db)
    .await?;
    log(db, row.id, "opened", &t.author, t.public, t.body, None).await?;
    if let Some(a) = assignee {
        log(
            db,
            row.id,
            "assigned",
            SYSTEM,
            false,
            None,
            Some(serde_json::json!({ "assignee": a, "dedicated": dedicated.is_some() })),
        )
        .await?;
    }
    webhooks::enqueue(db, "ticket.opened", &summary(db, &row).await?).await?;
    Ok(row)
}

/// The components the box ran, stored on a ticket as a problem stores its
/// resolved versions (name → version; read back with
/// `problems::versions_from`).
fn versions_json(installed: &[Component]) -> ApiResult<serde_json::Value> {
    json(&highest_versions([installed]))
}

fn box_time(at: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(at, 0).single().unwrap_or_default()
}

/// Folds a box's new faults into its tickets, in the transaction that
/// stored them (after `crate::problems::record`). Codes not in the catalog
/// open nothing.
pub async fn on_faults(
    txn: &impl ConnectionTrait,
    device_id: Uuid,
    faults: &[&FaultReport],
) -> ApiResult<()> {
    if faults.is_empty() {
        return Ok(());
    }
    let Some(dev) = device::Entity::find_by_id(device_id).one(txn).await? else {
        return Ok(());
    };
    let now = Utc::now();
    for g in fault_groups(faults) {
        let (code, signature, fs) = (g.code, g.signature, &g.faults);
        let Some(entry) = crate::catalog::get(txn, code).await?.map(|e| e.entry) else {
            continue;
        };
        let policy = entry.policy;
        let key = rules::dedup_key(code, Some(signature));
        let existing = ticket::Entity::find()
            .filter(ticket::Column::DeviceId.eq(device_id))
            .filter(ticket::Column::DedupKey.eq(key.clone()))
            .filter(ticket::Column::Status.ne(TicketStatus::Closed.as_str()))
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
        let status = existing.as_ref().map(|t| {
            t.status
                .parse::<TicketStatus>()
                .unwrap_or(TicketStatus::Open)
        });
        let resolved_at = crate::problems::versions_from(
            existing.as_ref().and_then(|t| t.resolved_versions.as_ref()),
        );
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
                    row.status = Set(TicketStatus::Open.as_str().to_owned());
                    row.resolved_at = Set(None);
                    row.reopened_count = Set(t.reopened_count + 1);
                }
                let row = row.update(txn).await?;
                log(
                    txn,
                    t.id,
                    if reopen { "reopened" } else { "occurrence" },
                    SYSTEM,
                    false,
                    None,
                    Some(serde_json::json!({ "faults": n, "versions": row.versions })),
                )
                .await?;
                if reopen {
                    webhooks::enqueue(txn, "ticket.reopened", &summary(txn, &row).await?).await?;
                }
            }
            (OnFault::Count | OnFault::Reopen, None) => {}
        }
    }
    Ok(())
}

/// The rollout that last updated the box successfully: the one that
/// shipped the version it runs.
async fn shipped_by(db: &impl ConnectionTrait, device_id: Uuid) -> ApiResult<Option<Uuid>> {
    Ok(rollout_device::Entity::find()
        .filter(rollout_device::Column::DeviceId.eq(device_id))
        .filter(rollout_device::Column::State.eq("succeeded"))
        .order_by_desc(rollout_device::Column::UpdatedAt)
        .one(db)
        .await?
        .map(|r| r.rollout_id))
}

/// A ticket as the API and webhooks show it.
#[derive(Debug, Clone, Serialize)]
pub struct TicketView {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub priority: String,
    pub subject: String,
    pub channel: String,
    pub plan: String,
    pub subscriber_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    pub fault_code: Option<String>,
    pub problem_id: Option<Uuid>,
    pub rollout_id: Option<Uuid>,
    pub assignee: Option<String>,
    pub occurrences: i64,
    pub first_fault_at: Option<DateTime<Utc>>,
    pub last_fault_at: Option<DateTime<Utc>>,
    pub versions: Option<serde_json::Value>,
    pub sla_terms: SlaTerms,
    pub sla: SlaView,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
    pub escalation_level: i32,
    pub reopened_count: i32,
    pub quote: Option<serde_json::Value>,
    pub rma: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The SLA clock of a stored ticket.
pub fn clock_of(t: &ticket::Model) -> ApiResult<Clock> {
    Ok(Clock {
        opened_at: t.created_at,
        first_response_at: t.first_response_at,
        resolved_at: t.resolved_at.or(t.closed_at),
        pauses: from_json(&t.pauses, "pauses")?,
    })
}

/// The terms and where they stand now.
pub fn sla_of(t: &ticket::Model, now: DateTime<Utc>) -> ApiResult<(SlaTerms, SlaView)> {
    let terms: SlaTerms = from_json(&t.sla, "SLA terms")?;
    let cal = terms
        .calendar
        .parse()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored calendar: {e}")))?;
    let view = rules::sla_view(&terms, &cal, &clock_of(t)?, now);
    Ok((terms, view))
}

async fn user_name(db: &impl ConnectionTrait, id: Option<Uuid>) -> ApiResult<Option<String>> {
    Ok(match id {
        Some(id) => user::Entity::find_by_id(id).one(db).await?.map(|u| u.name),
        None => None,
    })
}

/// The view of `t` now.
pub async fn summary(db: &impl ConnectionTrait, t: &ticket::Model) -> ApiResult<TicketView> {
    let (sla_terms, sla) = sla_of(t, Utc::now())?;
    Ok(TicketView {
        id: t.id,
        kind: t.kind.clone(),
        status: t.status.clone(),
        priority: t.priority.clone(),
        subject: t.subject.clone(),
        channel: t.channel.clone(),
        plan: t.plan.clone(),
        subscriber_id: t.subscriber_id,
        device_id: t.device_id,
        fault_code: t.fault_code.clone(),
        problem_id: t.problem_id,
        rollout_id: t.rollout_id,
        assignee: user_name(db, t.assignee).await?,
        occurrences: t.occurrences,
        first_fault_at: t.first_fault_at,
        last_fault_at: t.last_fault_at,
        versions: t.versions.clone(),
        sla_terms,
        sla,
        first_response_at: t.first_response_at,
        resolved_at: t.resolved_at,
        closed_at: t.closed_at,
        breached_at: t.breached_at,
        escalation_level: t.escalation_level,
        reopened_count: t.reopened_count,
        quote: t.quote.clone(),
        rma: t.rma.clone(),
        created_at: t.created_at,
        updated_at: t.updated_at,
    })
}

/// The ticket `id`, or 404.
pub async fn find(db: &impl ConnectionTrait, id: i64) -> ApiResult<ticket::Model> {
    ticket::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no ticket {id}")))
}

/// A change support staff ask for.
#[derive(Debug, Default)]
pub struct Change {
    pub status: Option<TicketStatus>,
    pub assignee: Option<Option<Uuid>>,
    pub priority: Option<Priority>,
}

/// Applies `change` to ticket `id`: status by the transition rule (pending
/// starts a pause of the SLA clock, leaving it ends it; resolving records
/// the box's versions, so a fault on a newer one reopens), assignee,
/// priority. Logs each and queues the webhooks.
pub async fn change(
    db: &impl ConnectionTrait,
    id: i64,
    change: Change,
    author: &str,
) -> ApiResult<ticket::Model> {
    let t = find(db, id).await?;
    let now = Utc::now();
    let mut row: ticket::ActiveModel = t.clone().into();
    let mut events = Vec::new();
    if let Some(to) = change.status {
        let from: TicketStatus = t.status.parse().map_err(anyhow::Error::msg)?;
        rules::transition(from, to).map_err(ApiError::Conflict)?;
        let mut pauses: Vec<Pause> = from_json(&t.pauses, "pauses")?;
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
        row.pauses = Set(json(&pauses)?);
        row.status = Set(to.as_str().to_owned());
        match to {
            TicketStatus::Resolved => {
                row.resolved_at = Set(Some(now));
                row.resolved_versions = Set(t.versions.clone());
                events.push("ticket.resolved");
            }
            TicketStatus::Closed => {
                row.closed_at = Set(Some(now));
                events.push("ticket.closed");
            }
            TicketStatus::Open if from == TicketStatus::Resolved => {
                row.resolved_at = Set(None);
                row.reopened_count = Set(t.reopened_count + 1);
                events.push("ticket.reopened");
            }
            _ => events.push("ticket.updated"),
        }
        log(
            db,
            id,
            "status",
            author,
            true,
            None,
            Some(serde_json::json!({ "from": from, "to": to })),
        )
        .await?;
    }
    if let Some(a) = change.assignee {
        row.assignee = Set(a);
        log(
            db,
            id,
            "assigned",
            author,
            false,
            None,
            Some(serde_json::json!({ "assignee": a })),
        )
        .await?;
        events.push("ticket.assigned");
    }
    if let Some(p) = change.priority {
        row.priority = Set(p.as_str().to_owned());
        log(
            db,
            id,
            "priority",
            author,
            false,
            None,
            Some(serde_json::json!({ "priority": p })),
        )
        .await?;
        events.push("ticket.updated");
    }
    row.updated_at = Set(now);
    let t = row.update(db).await?;
    events.dedup();
    let view = summary(db, &t).await?;
    for e in events {
        webhooks::enqueue(db, e, &view).await?;
    }
    Ok(t)
}

/// Adds a comment. A public comment from support staff is the first
/// response if none was given yet, and moves a new ticket to open; a
/// subscriber's comment on a ticket pending on them reopens it.
pub async fn comment(
    db: &impl ConnectionTrait,
    id: i64,
    author: &str,
    by_staff: bool,
    public: bool,
    body: String,
) -> ApiResult<ticket::Model> {
    let t = find(db, id).await?;
    let status: TicketStatus = t.status.parse().map_err(anyhow::Error::msg)?;
    if status == TicketStatus::Closed {
        return Err(ApiError::Conflict(format!("ticket {id} is closed")));
    }
    log(db, id, "comment", author, public, Some(body), None).await?;
    let now = Utc::now();
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
        Some(to) => {
            change(
                db,
                id,
                Change {
                    status: Some(to),
                    ..Change::default()
                },
                author,
            )
            .await?
        }
        None => t,
    };
    webhooks::enqueue(
        db,
        "ticket.commented",
        &serde_json::json!({ "ticket": summary(db, &t).await?, "author": author, "public": public }),
    )
    .await?;
    Ok(t)
}

/// What one sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub warned: u64,
    pub escalated: u64,
    pub surveys: u64,
}

/// One SLA sweep at `now`: warns once before a breach, escalates once on a
/// breach (priority up, handed to the policy's escalation contact, webhook),
/// and creates the satisfaction survey of resolved tickets whose fault has
/// stayed away (`survey.ready` carries its link).
pub async fn sweep(
    db: &DatabaseConnection,
    cfg: &TicketsConfig,
    now: DateTime<Utc>,
) -> ApiResult<Swept> {
    let mut out = Swept::default();
    let active = ticket::Entity::find()
        .filter(ticket::Column::Status.is_in(ACTIVE))
        .filter(ticket::Column::BreachedAt.is_null())
        .all(db)
        .await?;
    for t in active {
        let (terms, view) = sla_of(&t, now)?;
        let Some(step) = rules::escalation(&view, t.warned_at.is_some(), t.breached_at.is_some())
        else {
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
                    "sla_warning",
                    SYSTEM,
                    false,
                    None,
                    Some(json(&view)?),
                )
                .await?;
                "ticket.sla_warning"
            }
            Escalation::Breach => {
                let priority: Priority = t.priority.parse().unwrap_or(Priority::Normal);
                row.breached_at = Set(Some(now));
                row.warned_at = Set(Some(t.warned_at.unwrap_or(now)));
                row.priority = Set(priority.bump().as_str().to_owned());
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
                log(
                    &txn,
                    t.id,
                    "escalated",
                    SYSTEM,
                    false,
                    None,
                    Some(serde_json::json!({ "sla": view, "priority": priority.bump(), "assignee": to })),
                )
                .await?;
                "ticket.sla_breached"
            }
        };
        let t = row.update(&txn).await?;
        webhooks::enqueue(&txn, event, &summary(&txn, &t).await?).await?;
        txn.commit().await?;
    }
    out.surveys = surveys(db, cfg, now).await?;
    Ok(out)
}

/// Creates the surveys that are due; returns how many.
async fn surveys(
    db: &DatabaseConnection,
    cfg: &TicketsConfig,
    now: DateTime<Utc>,
) -> ApiResult<u64> {
    let resolved = ticket::Entity::find()
        .filter(ticket::Column::Status.is_in(["resolved", "closed"]))
        .filter(ticket::Column::SubscriberId.is_not_null())
        .filter(ticket::Column::ResolvedAt.gte(now - Duration::days(30)))
        .all(db)
        .await?;
    // Which of them have a survey already: one query, not one per ticket.
    let surveyed: std::collections::HashSet<i64> = survey::Entity::find()
        .filter(survey::Column::TicketId.is_in(resolved.iter().map(|t| t.id)))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.ticket_id)
        .collect();
    let quiet = Duration::seconds(i64::try_from(cfg.survey_quiet_secs).unwrap_or(i64::MAX / 2));
    let mut n = 0;
    for t in resolved {
        let Some(resolved_at) = t.resolved_at else {
            continue;
        };
        if surveyed.contains(&t.id) {
            continue;
        }
        let device_fault = t.channel == Channel::Device.as_str();
        if !rules::survey_due(device_fault, resolved_at, t.last_fault_at, quiet, now) {
            continue;
        }
        let secret = token::generate_in(token::Scheme::Survey);
        let txn = db.begin().await?;
        survey::Entity::insert(survey::ActiveModel {
            ticket_id: Set(t.id),
            prefix: Set(secret.prefix.clone()),
            secret_hash: Set(secret.hash),
            created_at: Set(now),
            answered_at: Set(None),
            score: Set(None),
            comment: Set(None),
        })
        .exec(&txn)
        .await?;
        let link = format!(
            "{}/survey/{}",
            cfg.public_url.trim_end_matches('/'),
            secret.plaintext
        );
        log(&txn, t.id, "survey_sent", SYSTEM, false, None, None).await?;
        webhooks::enqueue(
            &txn,
            "survey.ready",
            &serde_json::json!({ "ticket": summary(&txn, &t).await?, "survey_url": link }),
        )
        .await?;
        txn.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// Runs [`sweep`] every `sweep_every_secs` on the instance holding the
/// `tickets` lease.
pub fn spawn(db: DatabaseConnection, cfg: TicketsConfig) {
    let every = std::time::Duration::from_secs(cfg.sweep_every_secs.max(1));
    let ttl = chrono::TimeDelta::from_std(every * 3).unwrap_or(chrono::TimeDelta::seconds(90));
    crate::engine::scheduler::every_on_lease(db.clone(), "tickets", every, ttl, move || {
        let (db, cfg) = (db.clone(), cfg.clone());
        async move {
            match sweep(&db, &cfg, Utc::now()).await {
                Ok(s) if s != Swept::default() => tracing::info!(?s, "SLA sweep"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "SLA sweep failed"),
            }
        }
    });
}

/// Tickets of a subscriber's page, or the staff queue, newest first.
#[derive(Debug, Default)]
pub struct Filter {
    pub status: Option<TicketStatus>,
    pub kind: Option<TicketKind>,
    pub assignee: Option<Uuid>,
    pub subscriber_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    pub active_only: bool,
}

pub async fn list(db: &impl ConnectionTrait, f: Filter, limit: u64) -> ApiResult<Vec<TicketView>> {
    let mut q = ticket::Entity::find();
    if let Some(s) = f.status {
        q = q.filter(ticket::Column::Status.eq(s.as_str()));
    }
    if f.active_only {
        q = q.filter(ticket::Column::Status.is_in(ACTIVE));
    }
    if let Some(k) = f.kind {
        q = q.filter(ticket::Column::Kind.eq(k.as_str()));
    }
    if let Some(a) = f.assignee {
        q = q.filter(ticket::Column::Assignee.eq(a));
    }
    if let Some(s) = f.subscriber_id {
        q = q.filter(ticket::Column::SubscriberId.eq(s));
    }
    if let Some(d) = f.device_id {
        q = q.filter(ticket::Column::DeviceId.eq(d));
    }
    let rows = q
        .order_by_desc(ticket::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for t in &rows {
        out.push(summary(db, t).await?);
    }
    Ok(out)
}

/// A ticket's log, oldest first; only public entries when `public_only`.
pub async fn history(
    db: &impl ConnectionTrait,
    id: i64,
    public_only: bool,
) -> ApiResult<Vec<ticket_log::Model>> {
    let mut q = ticket_log::Entity::find().filter(ticket_log::Column::TicketId.eq(id));
    if public_only {
        q = q.filter(ticket_log::Column::Public.eq(true));
    }
    Ok(q.order_by_asc(ticket_log::Column::Id).all(db).await?)
}
