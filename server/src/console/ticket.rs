//! `/tickets/{id}`: one ticket as support staff work it. The conversation
//! (public replies and internal notes drawn differently, and the
//! ticket's events: assignments, status, warnings, escalations) and each
//! SLA target with its state refresh themselves (`/tickets/{id}/part`).
//! Beside them: status, assignee and priority; the fault catalog's
//! knowledge-base article; the repair-quote flow; the warranty return
//! (repair, or replace with what moves to the new box); the box panel
//! (model, versions, online, warranty, telemetry around the fault with
//! its markers, recent faults, how many boxes share the fleet problem,
//! the rollout that shipped its version); the subscriber's other tickets.
//! Every change goes through the same functions as the REST API, which
//! demand the support role.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::{
    device::{telemetry_charts, time},
    guard::{Posted, Signed},
    page::{filled, render, see_other_saying, Failure, Notice, Section, Shell},
    rollouts::etagged,
    tickets::{agents, countdown},
};
use crate::{
    fleet::problems::store as problems,
    identity::auth::access,
    platform::{entities::ticket, error::Error},
    state::AppState,
    support::{
        devices::{detail as device_detail, DeviceDetail},
        quotes::{routes::propose_by, store::answer_quote},
        rma::routes::return_box,
        tickets::{
            queue,
            routes::{add_comment, change_ticket, detail, id_of},
            rules::{LogKind, Priority, Target, TicketKind, TicketStatus},
            view::TicketView,
        },
        views::{LogView, QuoteBody, RmaBody, TicketChange, TicketComment, TicketDetail},
    },
};

/// An amount typed in major units (`49.90`, or `49,90` as many agents
/// write it) in minor units.
fn minor_units(typed: &str) -> Result<i64, Error> {
    let amount: f64 = typed
        .trim()
        .replace(',', ".")
        .parse()
        .map_err(|_| Error::Validation(format!("amount {typed:?} is not a number")))?;
    if !amount.is_finite() || amount.abs() > 1e12 {
        return Err(Error::Validation(format!(
            "amount {typed:?} is out of range"
        )));
    }
    #[allow(clippy::cast_possible_truncation)] // Bounded just above.
    Ok((amount * 100.0).round() as i64)
}

/// What a box runs, in words: `firmware 2.1.0, codecs 1.4.0` (from the
/// components it last reported).
pub fn versions(installed: &serde_json::Value) -> String {
    serde_json::from_value::<Vec<wavecast_protocol::checkin::Component>>(installed.clone())
        .unwrap_or_default()
        .iter()
        .map(|c| format!("{} {}", c.name, c.version))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One SLA target as the page shows it.
#[derive(Debug)]
pub struct TargetRow {
    pub name: &'static str,
    /// on track, warning, breached, paused, met, missed.
    pub state: &'static str,
    pub class: &'static str,
    pub text: String,
    /// For a ticking countdown: unix seconds.
    pub due: Option<i64>,
}

fn target_row(name: &'static str, t: &Target, now: DateTime<Utc>) -> TargetRow {
    let at = |d: DateTime<Utc>| d.format("%Y-%m-%d %H:%M UTC").to_string();
    let (state, class, text, due) = match *t {
        Target::OnTrack { due } => ("on track", "ok", countdown(due, now), Some(due)),
        Target::Warning { due } => ("warning", "warn", countdown(due, now), Some(due)),
        Target::Breached { due } => ("breached", "bad", countdown(due, now), Some(due)),
        Target::Paused => ("paused", "muted", "waiting on the customer".into(), None),
        Target::Met { at: m } => ("met", "ok", format!("at {}", at(m)), None),
        Target::Missed { at: m, due } => (
            "missed",
            "bad",
            format!("at {}, due {}", at(m), at(due)),
            None,
        ),
    };
    TargetRow {
        name,
        state,
        class,
        text,
        due: due.map(|d| d.timestamp()),
    }
}

/// A log entry as the conversation shows it.
#[derive(Debug)]
pub struct Entry {
    pub at: String,
    pub author: String,
    /// `public`, `internal`, `event` or `escalation`.
    pub class: &'static str,
    pub label: String,
    pub body: String,
}

fn entry(l: &LogView) -> Entry {
    let data = |k: &str| {
        l.data
            .as_ref()
            .and_then(|d| d.get(k))
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default()
    };
    let (class, label) = match l.kind {
        LogKind::Comment | LogKind::Opened if l.public => ("public", "public reply".to_owned()),
        LogKind::Comment | LogKind::Opened => ("internal", "internal note".to_owned()),
        LogKind::SlaWarning => ("escalation", "SLA warning: a target is near".to_owned()),
        LogKind::Escalated => (
            "escalation",
            format!("escalated: SLA breached, priority {}", data("priority")),
        ),
        LogKind::Assigned => ("event", format!("assigned to {}", data("assignee"))),
        LogKind::Status => ("event", format!("status {} → {}", data("from"), data("to"))),
        LogKind::Priority => ("event", format!("priority {}", data("priority"))),
        other => ("event", other.as_str().replace('_', " ")),
    };
    let label = if l.kind == LogKind::Opened {
        format!("opened the ticket ({label})")
    } else {
        label
    };
    Entry {
        at: l.at.format("%Y-%m-%d %H:%M:%S").to_string(),
        author: l.author.clone(),
        class,
        label,
        body: l.body.clone().unwrap_or_default(),
    }
}

/// The part that refreshes itself.
#[derive(Debug)]
pub struct Live {
    pub id: i64,
    pub status: TicketStatus,
    pub priority: Priority,
    pub assignee: String,
    pub targets: Vec<TargetRow>,
    pub log: Vec<Entry>,
    pub now: i64,
    pub escalated: bool,
}

fn live_of(d: &TicketDetail, now: DateTime<Utc>) -> Live {
    let t = &d.ticket;
    Live {
        id: t.id,
        status: t.status,
        priority: t.priority,
        assignee: t.assignee.clone().unwrap_or_default(),
        targets: vec![
            target_row("First response", &t.sla.first_response, now),
            target_row("Resolution", &t.sla.resolution, now),
        ],
        log: d.log.iter().map(entry).collect(),
        now: now.timestamp(),
        escalated: t.breached_at.is_some(),
    }
}

/// The box panel.
#[derive(Debug)]
pub struct BoxPanel {
    pub d: DeviceDetail,
    pub versions: String,
    pub warranty: String,
    pub charts: Vec<(String, String, String)>,
    pub window: String,
    pub faults: Vec<(String, String)>,
    /// The fleet problem: its id, code and how many boxes have it.
    pub problem: Option<(String, String, u64)>,
    /// The rollout that shipped the box's version: id and name.
    pub rollout: Option<(String, String)>,
    /// What a replacement takes over.
    pub moves: String,
}

async fn box_panel(
    state: &AppState,
    t: &TicketView,
    now: DateTime<Utc>,
) -> Result<Option<BoxPanel>, Failure> {
    let Some(id) = t.device_id else {
        return Ok(None);
    };
    let d = device_detail(state, &id.to_string()).await?;
    // Around the fault: from six hours before the first to six after the
    // last (or now), at least a day.
    let first = t.first_fault_at.unwrap_or(t.created_at);
    let last = t.last_fault_at.unwrap_or(t.created_at);
    let from = first - Duration::hours(6);
    let to = (last + Duration::hours(6))
        .min(now)
        .max(from + Duration::hours(24));
    let charts = telemetry_charts(state, &d, from.timestamp(), to.timestamp(), "box").await?;
    let faults = crate::fleet::telemetry::store::recent(
        &state.reads,
        id,
        Some(crate::fleet::telemetry::rules::EventKind::Fault),
        8,
    )
    .await?
    .events
    .into_iter()
    .filter_map(|e| match e.event.body {
        wavecast_protocol::events::EventBody::Fault(f) => Some((time(f.at), f.code)),
        wavecast_protocol::events::EventBody::Health(_) => None,
    })
    .collect();
    let problem = match t.problem_id {
        Some(p) => {
            let p = problems::show(&state.reads, p).await?;
            Some((p.id.to_string(), p.code, p.devices))
        }
        None => None,
    };
    let rollout = d
        .rollouts
        .iter()
        .find(|r| {
            t.rollout_id.map_or(
                r.state == wavecast_protocol::status::InstallState::Succeeded,
                |id| r.rollout_id == id,
            )
        })
        .map(|r| {
            (
                r.rollout_id.to_string(),
                format!("{} ({})", r.rollout, r.bundle),
            )
        });
    let open = d.open_tickets.len();
    let moves = format!(
        "subscriber {}, warranty start {}, {open} open ticket(s), its licence activations",
        d.subscriber
            .as_ref()
            .map_or("none".to_owned(), |s| s.account.clone()),
        d.device
            .activated_at
            .map_or("not activated".to_owned(), |a| a
                .format("%Y-%m-%d")
                .to_string()),
    );
    Ok(Some(BoxPanel {
        versions: versions(&d.device.installed),
        warranty: d.warranty.describe(),
        window: format!(
            "{} – {} UTC",
            from.format("%m-%d %H:%M"),
            to.format("%m-%d %H:%M")
        ),
        charts,
        faults,
        problem,
        rollout,
        moves,
        d,
    }))
}

#[derive(Template)]
#[template(path = "console/ticket.html")]
struct TicketPage {
    shell: Shell,
    d: TicketDetail,
    live: Live,
    agents: Vec<String>,
    statuses: [TicketStatus; 5],
    priorities: [Priority; 4],
    panel: Option<BoxPanel>,
    /// The subscriber's other tickets, newest first.
    others: Vec<ticket::Model>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "console/ticket_part.html")]
struct TicketPart {
    shell: Shell,
    live: Live,
}

/// `GET /tickets/{id}`
pub async fn page(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    n: web::Query<Notice>,
) -> Result<HttpResponse, Failure> {
    let now = state.clock.now();
    let id = id_of(&path)?;
    let d = detail(&state.reads, id, now).await?;
    let others = match d.ticket.subscriber_id {
        Some(s) => {
            let rows = queue::of_subscriber(&state.reads, s, 20, now).await?;
            rows.into_iter().filter(|r| r.id != id).collect()
        }
        None => Vec::new(),
    };
    render(&TicketPage {
        shell: signed.shell(format!("Ticket {id}"), Section::Tickets),
        live: live_of(&d, now),
        agents: agents(&state).await?,
        statuses: TicketStatus::ALL,
        priorities: [
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Urgent,
        ],
        panel: box_panel(&state, &d.ticket, now).await?,
        others,
        notice: n.into_inner().notice,
        d,
    })
}

/// `GET /tickets/{id}/part`: targets and conversation, for polling.
pub async fn part(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, Failure> {
    let now = state.clock.now();
    let d = detail(&state.reads, id_of(&path)?, now).await?;
    etagged(
        &TicketPart {
            shell: signed.shell("Ticket", Section::Tickets),
            live: live_of(&d, now),
        },
        &req,
    )
}

/// Every form of the ticket page, told apart by `action`.
#[derive(Debug, Deserialize)]
pub struct Act {
    /// reply, note, change, quote, quote_accepted, quote_declined, repair,
    /// replace.
    action: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    currency: String,
    #[serde(default)]
    replacement: String,
}

/// `POST /tickets/{id}` (support staff): a reply, a note, a change, a
/// quote and its answer, a warranty return. Back to the page, saying
/// what was done.
pub async fn act(
    posted: Posted<access::Support, Act>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let caller = &posted.signed.caller;
    let id = id_of(&path)?;
    let f = posted.form;
    let done = match f.action.as_str() {
        "reply" | "note" => {
            let public = f.action == "reply";
            let c = TicketComment {
                body: f.body,
                public,
            };
            add_comment(&state, caller, id, c).await?;
            if public {
                "Reply sent to the subscriber."
            } else {
                "Internal note added."
            }
        }
        "change" => {
            let change = TicketChange {
                status: filled(&f.status)
                    .map(|s| s.parse())
                    .transpose()
                    .map_err(Error::Validation)?,
                assignee: match f.assignee.as_str() {
                    "" => None,
                    "-" => Some(None),
                    name => Some(Some(name.to_owned())),
                },
                priority: filled(&f.priority)
                    .map(|s| s.parse())
                    .transpose()
                    .map_err(Error::Validation)?,
            };
            change_ticket(&state, caller, id, change).await?;
            "Ticket changed."
        }
        "quote" => {
            let amount_minor = minor_units(&f.amount)?;
            let q = QuoteBody {
                amount_minor,
                currency: f.currency.trim().to_uppercase(),
                note: filled(&f.body),
            };
            propose_by(&state, caller, id, q).await?;
            "Quote proposed; the ticket waits on the subscriber's answer."
        }
        "quote_accepted" | "quote_declined" => {
            let accepted = f.action == "quote_accepted";
            answer_quote(
                &state.db,
                id,
                accepted,
                caller.name.clone(),
                state.clock.now(),
            )
            .await?;
            "The subscriber's answer is recorded."
        }
        "repair" => {
            return_box(
                &state,
                caller,
                id,
                RmaBody::Repair {
                    note: filled(&f.body),
                },
            )
            .await?;
            "Return recorded: the box goes to repair."
        }
        "replace" => {
            let replacement = filled(&f.replacement)
                .ok_or_else(|| Error::Validation("give the new box's serial".into()))?;
            let b = RmaBody::Replace {
                replacement,
                note: filled(&f.body),
            };
            return_box(&state, caller, id, b).await?;
            "Box replaced: subscriber, warranty start and tickets moved to the new box."
        }
        other => {
            return Err(Error::Validation(format!("unknown action {other:?}")).into());
        }
    };
    Ok(see_other_saying(&format!("/tickets/{id}"), done))
}

impl TicketPage {
    fn is_repair(&self) -> bool {
        self.d.ticket.kind == TicketKind::Repair
    }
    fn is_warranty(&self) -> bool {
        self.d.ticket.kind == TicketKind::Warranty
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_with_a_point_or_a_comma() {
        assert_eq!(minor_units("49.90").ok(), Some(4990));
        assert_eq!(minor_units(" 49,90 ").ok(), Some(4990));
        assert_eq!(minor_units("120").ok(), Some(12000));
        for bad in ["", "forty", "1e300", "NaN", "inf"] {
            assert!(minor_units(bad).is_err(), "{bad}");
        }
    }
}
