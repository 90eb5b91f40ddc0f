//! `wavecast ticket`: the support queue from the terminal — list, show (with
//! the SLA targets, the box, the knowledge-base article and the log),
//! create, comment, assign, status, priority, repair quotes and warranty
//! returns.

use chrono::Utc;
use clap::Subcommand;
use reqwest::Method;

use super::{client::Client, device::warranty_text, output};
use crate::support::{
    tickets::{
        queue::{Sort, View},
        rules::{Channel, LogKind, Priority, Target, TicketKind, TicketStatus},
        view::TicketView,
    },
    views::{
        LogView, NewTicketBody, QuoteAnswer, QuoteBody, RmaBody, TicketChange, TicketComment,
        TicketDetail,
    },
};

#[derive(Debug, Subcommand)]
pub enum TicketCommand {
    /// The queue, newest first.
    List {
        /// A saved view: mine, unassigned, breaching, escalated, waiting or open.
        #[arg(long)]
        view: Option<View>,
        /// newest, next_due (the nearest SLA deadline first) or oldest.
        #[arg(long, default_value = "newest")]
        sort: Sort,
        /// Skip this many (paging).
        #[arg(long, default_value_t = 0)]
        offset: u64,
        /// new, open, pending, resolved or closed.
        #[arg(long)]
        status: Option<TicketStatus>,
        /// warranty, repair or support.
        #[arg(long)]
        kind: Option<TicketKind>,
        /// Tickets of this user (a name, or `me`).
        #[arg(long)]
        assignee: Option<String>,
        /// Only tickets support still owes work (new, open, pending).
        #[arg(long)]
        active: bool,
        /// Tickets of this subscriber (account or id).
        #[arg(long)]
        subscriber: Option<String>,
        /// Tickets about this box (serial or id).
        #[arg(long)]
        device: Option<String>,
        /// At most this many (up to 1000).
        #[arg(long, default_value_t = 50)]
        limit: u64,
        /// Print only the tickets' numbers, one a line (for scripts).
        #[arg(long, short)]
        quiet: bool,
    },
    /// A ticket with its SLA targets, box, subscriber, article and log.
    Show {
        /// The ticket's number.
        id: i64,
    },
    /// Open a ticket from a call, an email, a chat…
    Create {
        /// phone, email, chat, app, social or portal.
        #[arg(long)]
        channel: Channel,
        /// One line saying what it is about.
        #[arg(long)]
        subject: String,
        /// What the subscriber said.
        #[arg(long)]
        body: Option<String>,
        /// warranty, repair or support (default support).
        #[arg(long)]
        kind: Option<TicketKind>,
        /// The subscriber (account or id).
        #[arg(long)]
        subscriber: Option<String>,
        /// The box (serial or id).
        #[arg(long)]
        device: Option<String>,
        /// low, normal, high or urgent (default: from plan and severity).
        #[arg(long)]
        priority: Option<Priority>,
    },
    /// Add an internal note, or with --public a reply the subscriber sees.
    Comment {
        /// The ticket's number.
        id: i64,
        /// The text.
        text: String,
        /// A reply to the subscriber (the first one answers the ticket).
        #[arg(long)]
        public: bool,
    },
    /// Give a ticket to a user, or back to nobody with --nobody.
    Assign {
        /// The ticket's number.
        id: i64,
        /// The user's name.
        #[arg(required_unless_present = "nobody")]
        user: Option<String>,
        /// Unassign it.
        #[arg(long, conflicts_with = "user")]
        nobody: bool,
    },
    /// Move a ticket to another status.
    Status {
        /// The ticket's number.
        id: i64,
        /// new, open, pending (waiting on the subscriber), resolved or closed.
        status: TicketStatus,
    },
    /// Change a ticket's priority.
    Priority {
        /// The ticket's number.
        id: i64,
        /// low, normal, high or urgent.
        priority: Priority,
    },
    /// Propose a paid repair's price (post-warranty tickets).
    Quote {
        /// The ticket's number.
        id: i64,
        /// The price, e.g. 49.90 (in the currency's unit, two decimals).
        #[arg(long)]
        amount: String,
        /// ISO 4217 code, e.g. EUR.
        #[arg(long)]
        currency: String,
        /// What the repair covers.
        #[arg(long)]
        note: Option<String>,
    },
    /// Record the subscriber's answer to a quote (given by phone or email).
    QuoteAnswer {
        /// The ticket's number.
        id: i64,
        /// The subscriber accepted it.
        #[arg(long, required_unless_present = "declined")]
        accepted: bool,
        /// The subscriber declined it.
        #[arg(long, conflicts_with = "accepted")]
        declined: bool,
    },
    /// Return a box under warranty: repair it, or replace it with another.
    Rma {
        /// The ticket's number.
        id: i64,
        /// Replace it with this box (serial or id); without it, repair.
        #[arg(long, value_name = "SERIAL")]
        replace_with: Option<String>,
        /// A note for the record.
        #[arg(long)]
        note: Option<String>,
    },
}

const HEADER: &[&str] = &[
    "ID", "PRIORITY", "KIND", "STATUS", "PLAN", "ASSIGNEE", "BOX", "NEXT DUE", "AGE", "SUBJECT",
];

/// The next deadline of a ticket's open targets, as a countdown.
fn next_due(t: &TicketView) -> String {
    let now = Utc::now();
    let open = [t.sla.first_response, t.sla.resolution]
        .into_iter()
        .filter(|x| {
            matches!(
                x,
                Target::OnTrack { .. } | Target::Warning { .. } | Target::Breached { .. }
            )
        })
        .filter_map(|x| x.due())
        .min();
    match open {
        Some(due) if due <= now => format!("late {}", output::span((now - due).num_seconds())),
        Some(due) => format!("in {}", output::span((due - now).num_seconds())),
        None if [t.sla.first_response, t.sla.resolution].contains(&Target::Paused) => {
            "paused".into()
        }
        None => "-".into(),
    }
}

fn rows(list: &[TicketView]) -> Vec<Vec<String>> {
    let now = Utc::now();
    list.iter()
        .map(|t| {
            vec![
                t.id.to_string(),
                t.priority.to_string(),
                t.kind.to_string(),
                t.status.to_string(),
                t.plan.clone(),
                output::or_dash(t.assignee.as_deref()),
                output::or_dash(t.device_serial.as_deref()),
                next_due(t),
                output::span((now - t.created_at).num_seconds()),
                t.subject.clone(),
            ]
        })
        .collect()
}

fn target(x: &Target) -> String {
    let now = Utc::now();
    match x {
        Target::OnTrack { due } => format!(
            "on track, due {} (in {})",
            output::time(Some(*due)),
            output::span((*due - now).num_seconds())
        ),
        Target::Warning { due } => format!(
            "WARNING, due {} (in {})",
            output::time(Some(*due)),
            output::span((*due - now).num_seconds())
        ),
        Target::Breached { due } => format!(
            "BREACHED, was due {} ({} ago)",
            output::time(Some(*due)),
            output::span((now - *due).num_seconds())
        ),
        Target::Paused => "paused (waiting on the subscriber)".into(),
        Target::Met { at } => format!("met {}", output::time(Some(*at))),
        Target::Missed { at, due } => format!(
            "missed: done {}, was due {}",
            output::time(Some(*at)),
            output::time(Some(*due))
        ),
    }
}

/// What a log entry's data says, in words (the JSON for kinds this CLI
/// does not know).
fn data_text(kind: LogKind, d: &serde_json::Value) -> String {
    let s = |k: &str| {
        d.get(k)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("-")
            .to_owned()
    };
    let n = |k: &str| {
        d.get(k)
            .and_then(serde_json::Value::as_i64)
            .unwrap_or_default()
    };
    match kind {
        LogKind::Assigned => match d.get("assignee").and_then(serde_json::Value::as_str) {
            Some(a) if d.get("dedicated") == Some(&serde_json::Value::Bool(true)) => {
                format!("to {a}, the subscriber's dedicated agent")
            }
            Some(a) => format!("to {a}"),
            None => "to nobody".into(),
        },
        LogKind::Status => format!("{} → {}", s("from"), s("to")),
        LogKind::Priority => format!("priority {}", s("priority")),
        LogKind::Occurrence => format!(
            "{} occurrence(s) in all, the last at {}",
            n("occurrences"),
            s("last_fault_at")
        ),
        LogKind::Rerouted => format!(
            "{}: plan {} (was {}), {} to answer, {} to resolve, priority {}, assignee {}",
            s("reason"),
            s("plan"),
            s("previous_plan"),
            output::span(n("first_response_secs")),
            output::span(n("resolution_secs")),
            s("priority"),
            s("assignee")
        ),
        _ => d.to_string(),
    }
}

/// A log entry in one line.
fn log_line(l: &LogView) -> String {
    let who = if l.public {
        format!("{} (public)", l.author)
    } else {
        l.author.clone()
    };
    let what = match (&l.body, &l.data) {
        (Some(b), _) => b.replace('\n', " "),
        (None, Some(d)) => data_text(l.kind, d),
        (None, None) => String::new(),
    };
    format!(
        "{}  {:<12} {:<20} {what}",
        output::time(Some(l.at)),
        l.kind.to_string(),
        who
    )
}

fn detail(d: &TicketDetail) -> String {
    let t = &d.ticket;
    let mut pairs = vec![
        ("ticket", format!("#{} {}", t.id, t.subject)),
        ("kind", format!("{} via {}", t.kind, t.channel)),
        ("status", t.status.to_string()),
        ("priority", t.priority.to_string()),
        ("plan", t.plan.clone()),
        ("assignee", output::or_dash(t.assignee.as_deref())),
        ("first response", target(&t.sla.first_response)),
        ("resolution", target(&t.sla.resolution)),
        ("opened", output::time(Some(t.created_at))),
    ];
    if let Some(code) = &t.fault_code {
        pairs.push((
            "fault",
            format!(
                "{code}, {} occurrence(s), last {}",
                t.occurrences,
                output::time(t.last_fault_at)
            ),
        ));
    }
    if let Some(s) = &d.subscriber {
        pairs.push((
            "subscriber",
            format!(
                "{} {} ({} plan){}{}",
                s.account,
                s.name,
                s.plan,
                s.email
                    .as_deref()
                    .map(|e| format!(", {e}"))
                    .unwrap_or_default(),
                s.phone
                    .as_deref()
                    .map(|p| format!(", {p}"))
                    .unwrap_or_default()
            ),
        ));
    }
    if let Some(b) = &d.device {
        pairs.push((
            "box",
            format!(
                "{} ({}), last seen {}",
                b.serial,
                b.model,
                output::time(b.last_seen_at)
            ),
        ));
    }
    if let Some(w) = &d.warranty {
        pairs.push(("warranty", warranty_text(w)));
    }
    if let Some(q) = &t.quote {
        pairs.push((
            "quote",
            format!(
                "{}.{:02} {} ({:?}){}",
                q.amount_minor / 100,
                q.amount_minor.rem_euclid(100),
                q.currency,
                q.status,
                q.note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default()
            ),
        ));
    }
    if let Some(r) = &t.rma {
        pairs.push(("return", format!("{:?} by {}", r.action, r.by)));
    }
    let mut s = output::fields(&pairs);
    if let Some(kb) = &d.kb {
        s.push_str(&output::heading(&format!("Article: {}", kb.title)));
        s.push_str(kb.kb.trim_end());
        s.push('\n');
    }
    s.push_str(&output::heading("Log"));
    for l in &d.log {
        s.push_str(&log_line(l));
        s.push('\n');
    }
    s
}

/// An amount like `49.90` in minor units (`4990`).
fn minor_units(amount: &str) -> anyhow::Result<i64> {
    let bad = || anyhow::anyhow!("--amount {amount:?} is not an amount like 49.90");
    let (whole, frac) = amount.split_once('.').unwrap_or((amount, ""));
    if whole.is_empty() || frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .filter(|m| *m >= 0)
        .ok_or_else(bad)
}

/// A subscriber's or a box's id from what a person typed.
async fn id_of(client: &Client, path: &str, reference: &str) -> anyhow::Result<String> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: uuid::Uuid,
    }
    let found: Id = client
        .get(&format!("api/v1/{path}/{reference}"), &[])
        .await?;
    Ok(found.id.to_string())
}

pub async fn run(client: &Client, cmd: TicketCommand, json: bool) -> anyhow::Result<()> {
    let one = |t: TicketView| {
        let r = rows(std::slice::from_ref(&t));
        output::print(json, &t, HEADER, r);
    };
    let change = |id: i64, body: TicketChange| async move {
        client
            .send::<_, TicketView>(
                Method::PATCH,
                &format!("api/v1/tickets/{id}"),
                &[],
                Some(&body),
            )
            .await
    };
    match cmd {
        TicketCommand::List {
            view,
            sort,
            offset,
            status,
            kind,
            assignee,
            active,
            subscriber,
            device,
            limit,
            quiet,
        } => {
            let mut q = vec![
                ("limit", limit.to_string()),
                ("sort", sort.to_string()),
                ("offset", offset.to_string()),
            ];
            q.extend(view.map(|v| ("view", v.to_string())));
            q.extend(status.map(|s| ("status", s.to_string())));
            q.extend(kind.map(|k| ("kind", k.to_string())));
            q.extend(assignee.map(|a| ("assignee", a)));
            if active {
                q.push(("active", "true".into()));
            }
            if let Some(s) = subscriber {
                q.push(("subscriber", id_of(client, "subscribers", &s).await?));
            }
            if let Some(d) = device {
                q.push(("device", id_of(client, "devices", &d).await?));
            }
            let list: Vec<TicketView> = client.get("api/v1/tickets", &q).await?;
            if quiet {
                output::text(
                    &list
                        .iter()
                        .map(|t| format!("{}\n", t.id))
                        .collect::<String>(),
                );
            } else {
                output::print(json, &list, HEADER, rows(&list));
            }
        }
        TicketCommand::Show { id } => {
            let d: TicketDetail = client.get(&format!("api/v1/tickets/{id}"), &[]).await?;
            if json {
                output::json(&d);
            } else {
                output::text(&detail(&d));
            }
        }
        TicketCommand::Create {
            channel,
            subject,
            body,
            kind,
            subscriber,
            device,
            priority,
        } => {
            let body = NewTicketBody {
                channel,
                subject,
                body,
                kind,
                subscriber,
                device,
                priority,
            };
            one(client
                .send(Method::POST, "api/v1/tickets", &[], Some(&body))
                .await?);
        }
        TicketCommand::Comment { id, text, public } => {
            let body = TicketComment { body: text, public };
            one(client
                .send(
                    Method::POST,
                    &format!("api/v1/tickets/{id}/comments"),
                    &[],
                    Some(&body),
                )
                .await?);
        }
        TicketCommand::Assign { id, user, nobody } => {
            let assignee = if nobody { None } else { user };
            one(change(
                id,
                TicketChange {
                    status: None,
                    assignee: Some(assignee),
                    priority: None,
                },
            )
            .await?);
        }
        TicketCommand::Status { id, status } => one(change(
            id,
            TicketChange {
                status: Some(status),
                assignee: None,
                priority: None,
            },
        )
        .await?),
        TicketCommand::Priority { id, priority } => one(change(
            id,
            TicketChange {
                status: None,
                assignee: None,
                priority: Some(priority),
            },
        )
        .await?),
        TicketCommand::Quote {
            id,
            amount,
            currency,
            note,
        } => {
            let body = QuoteBody {
                amount_minor: minor_units(&amount)?,
                currency,
                note,
            };
            one(client
                .send(
                    Method::POST,
                    &format!("api/v1/tickets/{id}/quote"),
                    &[],
                    Some(&body),
                )
                .await?);
        }
        TicketCommand::QuoteAnswer { id, accepted, .. } => {
            let body = QuoteAnswer { accepted };
            one(client
                .send(
                    Method::POST,
                    &format!("api/v1/tickets/{id}/quote/answer"),
                    &[],
                    Some(&body),
                )
                .await?);
        }
        TicketCommand::Rma {
            id,
            replace_with,
            note,
        } => {
            let body = match replace_with {
                Some(replacement) => RmaBody::Replace { replacement, note },
                None => RmaBody::Repair { note },
            };
            one(client
                .send(
                    Method::POST,
                    &format!("api/v1/tickets/{id}/rma"),
                    &[],
                    Some(&body),
                )
                .await?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_become_minor_units() {
        assert_eq!(minor_units("49.90").expect("ok"), 4990);
        assert_eq!(minor_units("49.9").expect("ok"), 4990);
        assert_eq!(minor_units("120").expect("ok"), 12_000);
        for bad in ["", ".5", "4.999", "-3", "1e3", "12,50"] {
            assert!(minor_units(bad).is_err(), "{bad}");
        }
    }
}
