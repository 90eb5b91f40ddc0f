//! The support desk behind `bench/console.sh` and `bench/sweep.sh`:
//! support agents, subscribers linked to the seeded boxes, and tickets of
//! every kind, status and plan with their logs, stamped with their SLA due
//! times by the server's own rule (the ticket entity's `before_save`).
//!
//! - [`seed`]: `tickets` tickets of which the newest `open` are active,
//!   over a seeded fleet of `devices` boxes;
//! - [`sweep`]: a fresh database with `open` active tickets of which
//!   `due` have just passed their first-response target; times the SLA
//!   sweep against its baseline, reading every active ticket once (what a
//!   sweep without due-time columns had to do).

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ActiveModelBehavior, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, Set, TransactionTrait,
};
use wavecast_server::{
    identity::roles::Role,
    platform::{
        config::TicketsConfig,
        entities::{device, subscriber, survey, ticket, ticket_log, user},
    },
    support::{
        plans::store::{seed_defaults, terms_for_new},
        tickets::{
            rules::{Channel, LogKind, Priority, SlaTerms, TicketKind, TicketStatus},
            store::ACTIVE,
            sweep,
        },
    },
};

use crate::{console::insert_all, device_id, open, open_with};

/// Support agents: `agent01` … `agent20`.
pub const AGENTS: u64 = 20;
const PLANS: [&str; 3] = ["basic", "premium", "vip"];
/// Subscribers at most, each with two boxes.
pub const SUBSCRIBERS: u64 = 100_000;

fn agent_id(a: u64) -> uuid::Uuid {
    uuid::Uuid::from_u128(0xa9e0_0000_0000_0000_0000_0000_0000_0000 | u128::from(a))
}

fn subscriber_id(s: u64) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x5ab0_0000_0000_0000_0000_0000_0000_0000 | u128::from(s))
}

/// The policies of each plan and kind, read once.
async fn terms(
    db: &DatabaseConnection,
) -> anyhow::Result<Vec<(String, TicketKind, serde_json::Value)>> {
    let mut out = Vec::new();
    for p in PLANS {
        for k in TicketKind::ALL {
            let t: SlaTerms = terms_for_new(db, p, k).await?;
            out.push((p.to_owned(), k, serde_json::to_value(&t)?));
        }
    }
    Ok(out)
}

/// Ticket `i` (id `i + 1`) opened at `at`, active or done, stamped with
/// its due times.
#[allow(clippy::too_many_arguments)] // One row's facts, named at the call.
async fn ticket_row(
    db: &DatabaseConnection,
    i: u64,
    at: DateTime<Utc>,
    active: bool,
    device: Option<u64>,
    subscriber: Option<u64>,
    sla: &(String, TicketKind, serde_json::Value),
    now: DateTime<Utc>,
) -> anyhow::Result<ticket::ActiveModel> {
    let (plan, kind, terms) = sla;
    let status = if active {
        [TicketStatus::New, TicketStatus::Open, TicketStatus::Pending][(i % 3) as usize]
    } else if i % 2 == 0 {
        TicketStatus::Resolved
    } else {
        TicketStatus::Closed
    };
    let answered = status != TicketStatus::New;
    let done = (!active).then(|| (at + TimeDelta::hours(6)).min(now));
    let fault = *kind != TicketKind::Support;
    let m = ticket::ActiveModel {
        id: Set(i64::try_from(i + 1)?),
        kind: Set(*kind),
        status: Set(status),
        priority: Set([
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Urgent,
        ][(i % 4) as usize]),
        subject: Set(if fault {
            "HDMI output lost".into()
        } else {
            format!("Question {i} about the bill")
        }),
        channel: Set(if fault {
            Channel::Device
        } else {
            [Channel::Phone, Channel::Email, Channel::Chat, Channel::App][(i % 4) as usize]
        }),
        subscriber_id: Set(subscriber.map(subscriber_id)),
        device_id: Set(device.map(device_id)),
        plan: Set(plan.clone()),
        fault_code: Set(fault.then(|| "HW-HDMI-001".to_owned())),
        dedup_key: Set(None),
        problem_id: Set(None),
        rollout_id: Set(None),
        assignee: Set((i % 10 < 7).then(|| agent_id(1 + i % AGENTS))),
        occurrences: Set(if fault { 3 } else { 0 }),
        first_fault_at: Set(fault.then_some(at)),
        last_fault_at: Set(fault.then_some(at)),
        versions: Set(None),
        sla: Set(terms.clone()),
        pauses: Set(serde_json::json!([])),
        first_response_at: Set(answered.then(|| at + TimeDelta::minutes(20))),
        resolved_at: Set(done),
        resolved_versions: Set(None),
        closed_at: Set(done.filter(|_| status == TicketStatus::Closed)),
        warned_at: Set(None),
        breached_at: Set(None),
        escalation_level: Set(0),
        reopened_count: Set(0),
        quote: Set(None),
        rma: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
        next_due_at: Set(None),
        sweep_at: Set(None),
    };
    Ok(m.before_save(db, true).await?)
}

fn log_rows(i: u64, at: DateTime<Utc>) -> [ticket_log::ActiveModel; 2] {
    let id = i64::try_from(i + 1).unwrap_or(i64::MAX);
    let row = |n: i64, kind: LogKind, body: Option<String>, public: bool| ticket_log::ActiveModel {
        id: Set(id * 2 + n),
        ticket_id: Set(id),
        at: Set(at + TimeDelta::minutes(n * 20)),
        kind: Set(kind),
        author: Set("wavecast".into()),
        public: Set(public),
        body: Set(body),
        data: Set(None),
    };
    [
        row(0, LogKind::Opened, None, true),
        row(
            1,
            LogKind::Comment,
            Some(format!("Looking into ticket {}.", i + 1)),
            true,
        ),
    ]
}

async fn agents(db: &DatabaseConnection, now: DateTime<Utc>) -> anyhow::Result<()> {
    let rows = (1..=AGENTS).map(|a| user::ActiveModel {
        id: Set(agent_id(a)),
        name: Set(format!("agent{a:02}")),
        display_name: Set(format!("Agent {a}")),
        role: Set(Role::Support),
        disabled: Set(false),
        created_at: Set(now),
        password_hash: Set(None),
        password_changed_at: Set(None),
    });
    insert_all(db, rows).await?;
    Ok(())
}

/// Seeds `subscribers` subscribers (`ACC0000000` …), subscriber `s`
/// owning boxes `2s` and `2s + 1`, and `tickets` tickets over them, the
/// newest `open` active, one every 30 s back from now.
pub async fn seed(url: &str, devices: u64, tickets: u64, open_n: u64) -> anyhow::Result<()> {
    let db = open(url).await?;
    let started = std::time::Instant::now();
    let now = Utc::now();
    seed_defaults(&db, &TicketsConfig::default(), now).await?;
    agents(&db, now).await?;
    let subscribers = (devices / 2).min(SUBSCRIBERS);
    let subs = (0..subscribers).map(|s| subscriber::ActiveModel {
        id: Set(subscriber_id(s)),
        account: Set(format!("ACC{s:07}")),
        name: Set(format!("Subscriber {s}")),
        email: Set(Some(format!("acc{s}@example.net"))),
        phone: Set(Some(format!("+33 1 {s:08}"))),
        plan: Set(PLANS[(s % 3) as usize].to_owned()),
        dedicated_agent: Set((s % 3 == 2).then(|| agent_id(1 + s % AGENTS))),
        created_at: Set(now),
        updated_at: Set(now),
    });
    insert_all(&db, subs).await?;
    let txn = db.begin().await?;
    for s in 0..subscribers {
        device::Entity::update_many()
            .col_expr(
                device::Column::SubscriberId,
                sea_orm::sea_query::Expr::value(subscriber_id(s)),
            )
            .col_expr(
                device::Column::ActivatedAt,
                sea_orm::sea_query::Expr::value(now - TimeDelta::days(200)),
            )
            .filter(device::Column::Id.is_in([device_id(2 * s), device_id(2 * s + 1)]))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    let sla = terms(&db).await?;
    let mut rows = Vec::with_capacity(tickets as usize);
    let mut logs = Vec::with_capacity(2 * tickets as usize);
    let mut surveys = Vec::new();
    for i in 0..tickets {
        let at = now - TimeDelta::seconds(30 * i64::try_from(tickets - i)?);
        let active = i >= tickets - open_n;
        // The newest ticket is about box 5, which has seven days of reports.
        let d = if i + 1 == tickets {
            5
        } else {
            (i * 7919) % (2 * subscribers)
        };
        let s = d / 2;
        let kind = TicketKind::ALL[(i % 3) as usize];
        let plan = (s % 3) as usize;
        let terms = &sla[plan * 3 + TicketKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)];
        let row = ticket_row(&db, i, at, active, Some(d), Some(s), terms, now).await?;
        // Done tickets had their survey; half were answered.
        if let sea_orm::ActiveValue::Set(Some(resolved)) = row.resolved_at {
            let answered = i % 2 == 0;
            surveys.push(survey::ActiveModel {
                ticket_id: Set(i64::try_from(i + 1)?),
                prefix: Set(format!("bench{i}")),
                secret_hash: Set(String::new()),
                created_at: Set(resolved),
                answered_at: Set(answered.then_some(resolved)),
                score: Set(answered.then(|| i32::try_from(1 + i % 5).unwrap_or(3))),
                comment: Set(None),
            });
        }
        rows.push(row);
        logs.extend(log_rows(i, at));
    }
    let n = insert_all(&db, rows).await?;
    let l = insert_all(&db, logs).await?;
    insert_all(&db, surveys).await?;
    println!(
        "seeded {AGENTS} agents, {subscribers} subscribers, {n} tickets ({open_n} active) and {l} log entries in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    // The warnings and escalations a running server would have made as
    // the seeded tickets fell due, made now by its own sweep.
    let t = std::time::Instant::now();
    let swept = sweep::sweep(&db, &TicketsConfig::default(), now)
        .await
        .map_err(|e| anyhow::anyhow!("sweep: {e:?}"))?;
    println!(
        "caught up: {} warned, {} escalated in {:.0} s",
        swept.warned,
        swept.escalated,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Times the SLA sweep over `open_n` active tickets of which `due` are
/// past their first-response target, against reading every active ticket.
pub async fn sweep_time(url: &str, open_n: u64, due: u64) -> anyhow::Result<()> {
    // One connection: the baseline, a first sweep and the measured one
    // run on it, as the server's sweeps run on warm pooled connections.
    let db = open_with(url, 1).await?;
    let now = Utc::now();
    seed_defaults(&db, &TicketsConfig::default(), now).await?;
    let sla = terms(&db).await?;
    // Whatever the calendar, a ticket opened 30 days ago is past its first
    // response, and one opened a minute ago is not yet near it.
    let support = sla
        .iter()
        .find(|(p, k, _)| p == "vip" && *k == TicketKind::Support)
        .ok_or_else(|| anyhow::anyhow!("no VIP support policy"))?;
    let mut rows = Vec::with_capacity(open_n as usize);
    for i in 0..open_n {
        let at = if i < due {
            now - TimeDelta::days(30)
        } else {
            now - TimeDelta::seconds(60)
        };
        let mut m = ticket_row(&db, i, at, true, None, None, support, now).await?;
        m.status = Set(TicketStatus::New);
        m.first_response_at = Set(None);
        rows.push(m.before_save(&db, true).await?);
    }
    insert_all(&db, rows).await?;
    // The bulk insert leaves a large write-ahead log: fold it into the
    // database first, as the server's checkpoints would have, so neither
    // measurement pays for it.
    db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
        .await?;
    db.execute_unprepared("ANALYZE").await?;
    let t = std::time::Instant::now();
    let all = ticket::Entity::find()
        .filter(ticket::Column::Status.is_in(ACTIVE))
        .all(&db)
        .await?;
    let baseline = t.elapsed().as_secs_f64() * 1000.0;
    // A sweep before anything was due: it acts on nothing.
    sweep::sweep(&db, &TicketsConfig::default(), now - TimeDelta::days(60))
        .await
        .map_err(|e| anyhow::anyhow!("sweep: {e:?}"))?;
    let t = std::time::Instant::now();
    let swept = sweep::sweep(&db, &TicketsConfig::default(), now)
        .await
        .map_err(|e| anyhow::anyhow!("sweep: {e:?}"))?;
    let took = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "RESULT {open_n} {due} {} {baseline:.1} {took:.1} {} {}",
        all.len(),
        swept.warned + swept.escalated,
        swept.restamped
    );
    Ok(())
}
