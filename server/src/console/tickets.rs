//! `/tickets`: the support queue. Saved views with their counts (mine,
//! unassigned, breaching soon, breached / escalated, waiting on the
//! customer, all open), a table with priority, kind, subscriber and plan,
//! box model, channel, assignee, age and the next SLA deadline as a
//! countdown on the policy's calendar (red once breached), sorted by that
//! deadline; bulk assignment and status for support staff. The views and
//! table refresh themselves (`/tickets/part`, 304 when nothing changed).

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use uuid::Uuid;

use super::{
    guard::{Posted, Signed},
    page::{render, see_other_saying, Failure, Notice, Section, Shell},
    rollouts::etagged,
};
use crate::{
    identity::{auth::access, roles::Role},
    platform::{
        entities::{device, subscriber, user},
        error::Error,
    },
    state::AppState,
    support::{
        tickets::{
            queue::{self, Page, Sort, View, ViewCount},
            routes::change_ticket,
            rules::{Target, TicketKind, TicketStatus},
            view::sla_of,
        },
        views::TicketChange,
    },
};

/// Tickets a page of the queue shows.
const PAGE: u64 = 50;

/// A ticket's next deadline as the queue shows it.
#[derive(Debug, Clone)]
pub struct Deadline {
    /// Which target: "first response" or "resolution".
    pub target: &'static str,
    /// Unix seconds, for the page's ticking countdown.
    pub due: i64,
    pub text: String,
    /// `ok`, `warn` or `bad`.
    pub class: &'static str,
}

/// `secs` as "1 d 2 h", "2 h 05 m", "4 m 10 s".
pub fn span(secs: i64) -> String {
    let s = secs.abs();
    let (d, h, m, x) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m:02} m")
    } else {
        format!("{m} m {x:02} s")
    }
}

/// The countdown's words for a deadline at `due` seen at `now`.
pub fn countdown(due: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let left = (due - now).num_seconds();
    if left > 0 {
        format!("in {}", span(left))
    } else {
        format!("breached {} ago", span(left))
    }
}

/// The nearest deadline among the targets not yet met, or why there is
/// none ("paused", "met").
pub fn next_deadline(
    first: &Target,
    resolution: &Target,
    now: DateTime<Utc>,
) -> Result<Deadline, &'static str> {
    let open = |t: &Target| match *t {
        Target::OnTrack { due } => Some((due, "ok")),
        Target::Warning { due } => Some((due, "warn")),
        Target::Breached { due } => Some((due, "bad")),
        _ => None,
    };
    let mut best: Option<(DateTime<Utc>, &'static str, &'static str)> = None;
    for (name, t) in [("first response", first), ("resolution", resolution)] {
        if let Some((due, class)) = open(t) {
            if best.is_none_or(|b| due < b.0) {
                best = Some((due, class, name));
            }
        }
    }
    match best {
        Some((due, class, target)) => Ok(Deadline {
            target,
            due: due.timestamp(),
            text: countdown(due, now),
            class,
        }),
        None if matches!(first, Target::Paused) || matches!(resolution, Target::Paused) => {
            Err("paused")
        }
        None => Err("met"),
    }
}

/// One line of the queue.
#[derive(Debug)]
pub struct Row {
    pub id: i64,
    pub subject: String,
    pub priority: String,
    pub kind: TicketKind,
    pub status: TicketStatus,
    pub subscriber: String,
    pub plan: String,
    pub model: String,
    pub channel: String,
    pub assignee: String,
    pub age: String,
    pub deadline: Result<Deadline, &'static str>,
    pub escalated: bool,
}

/// The queue's rows for the stored tickets `rows` at `now`: subscribers,
/// boxes and users read once for the page.
pub async fn rows_of(
    state: &AppState,
    rows: Vec<crate::platform::entities::ticket::Model>,
    now: DateTime<Utc>,
) -> Result<Vec<Row>, Failure> {
    let db = &state.reads;
    let subs: Vec<Uuid> = rows.iter().filter_map(|t| t.subscriber_id).collect();
    let boxes: Vec<Uuid> = rows.iter().filter_map(|t| t.device_id).collect();
    let people: Vec<Uuid> = rows.iter().filter_map(|t| t.assignee).collect();
    let subs: HashMap<Uuid, String> = subscriber::Entity::find()
        .filter(subscriber::Column::Id.is_in(subs))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let boxes: HashMap<Uuid, String> = device::Entity::find()
        .filter(device::Column::Id.is_in(boxes))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.id, d.model))
        .collect();
    let people: HashMap<Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(people))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for t in rows {
        let (_, sla) = sla_of(&t, now)?;
        let deadline = next_deadline(&sla.first_response, &sla.resolution, now);
        let look = |m: &HashMap<Uuid, String>, id: Option<Uuid>| {
            id.and_then(|id| m.get(&id).cloned()).unwrap_or_default()
        };
        out.push(Row {
            id: t.id,
            subject: t.subject,
            priority: t.priority.to_string(),
            kind: t.kind,
            status: t.status,
            subscriber: look(&subs, t.subscriber_id),
            plan: t.plan,
            model: look(&boxes, t.device_id),
            channel: t.channel.to_string(),
            assignee: look(&people, t.assignee),
            age: span((now - t.created_at).num_seconds()),
            escalated: t.breached_at.is_some(),
            deadline,
        });
    }
    Ok(out)
}

#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    view: Option<View>,
    kind: Option<TicketKind>,
    sort: Option<Sort>,
    #[serde(default)]
    page: u64,
}

/// What the queue shows, for the page and for its refreshing part.
#[derive(Debug)]
pub struct Queue {
    pub view: View,
    pub kind: Option<TicketKind>,
    pub sort: Sort,
    pub page: u64,
    pub counts: Vec<ViewCount>,
    pub rows: Vec<Row>,
    pub total: u64,
    /// The query string of this view, for links and polling.
    pub query: String,
    pub now: i64,
}

impl Queue {
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(PAGE).max(1)
    }

    /// The query string with another page.
    pub fn at_page(&self, page: u64) -> String {
        self.query_of(self.view, Some(page))
    }

    /// The query string of another view, keeping kind and sort.
    pub fn of_view(&self, view: &View) -> String {
        self.query_of(*view, None)
    }

    fn query_of(&self, view: View, page: Option<u64>) -> String {
        let mut q = vec![("view", view.to_string()), ("sort", self.sort.to_string())];
        q.extend(self.kind.map(|k| ("kind", k.to_string())));
        q.extend(page.map(|p| ("page", p.to_string())));
        serde_urlencoded::to_string(q).unwrap_or_default()
    }
}

async fn queue(state: &AppState, me: Uuid, q: &QueueQuery) -> Result<Queue, Failure> {
    let now = state.clock.now();
    let view = q.view.unwrap_or(View::Open);
    let sort = q.sort.unwrap_or(Sort::NextDue);
    let filter = queue::Filter {
        view: Some((view, me)),
        kind: q.kind,
        ..queue::Filter::default()
    };
    let page = Page {
        sort,
        offset: q.page.saturating_mul(PAGE),
        limit: PAGE,
    };
    let (rows, total) = queue::rows(&state.reads, &filter, page, now).await?;
    let counts = queue::counts(&state.reads, me, now).await?;
    let mut out = Queue {
        view,
        kind: q.kind,
        sort,
        page: q.page,
        counts,
        rows: rows_of(state, rows, now).await?,
        total,
        query: String::new(),
        now: now.timestamp(),
    };
    out.query = out.at_page(q.page);
    Ok(out)
}

/// Support staff to hand tickets to.
pub async fn agents(state: &AppState) -> Result<Vec<String>, Failure> {
    Ok(user::Entity::find()
        .filter(user::Column::Disabled.eq(false))
        .all(&state.reads)
        .await?
        .into_iter()
        .filter(|u| u.role.grants(Role::Support))
        .map(|u| u.name)
        .collect())
}

#[derive(Template)]
#[template(path = "console/tickets.html")]
struct QueuePage {
    shell: Shell,
    q: Queue,
    agents: Vec<String>,
    statuses: [TicketStatus; 5],
    kinds: [TicketKind; 3],
    sorts: [Sort; 3],
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "console/tickets_part.html")]
struct QueuePart {
    shell: Shell,
    q: Queue,
}

/// `GET /tickets`
pub async fn list(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<QueueQuery>,
    n: web::Query<Notice>,
) -> Result<HttpResponse, Failure> {
    let q = queue(&state, signed.user_id, &q).await?;
    render(&QueuePage {
        shell: signed.shell("Tickets", Section::Tickets),
        agents: agents(&state).await?,
        statuses: TicketStatus::ALL,
        kinds: TicketKind::ALL,
        sorts: [Sort::NextDue, Sort::Newest, Sort::Oldest],
        notice: n.into_inner().notice,
        q,
    })
}

/// `GET /tickets/part`: the views and the table, for the page's polling.
pub async fn part(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<QueueQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, Failure> {
    let q = queue(&state, signed.user_id, &q).await?;
    let part = QueuePart {
        shell: signed.shell("Tickets", Section::Tickets),
        q,
    };
    etagged(&part, &req)
}

/// The queue's bulk form.
#[derive(Debug, Deserialize)]
pub struct Bulk {
    #[serde(default)]
    ids: Vec<i64>,
    /// A user name, `-` to unassign, empty to leave.
    #[serde(default)]
    assignee: String,
    /// A status, empty to leave.
    #[serde(default)]
    status: String,
    /// Where to go back to.
    #[serde(default)]
    back: String,
}

/// `POST /tickets/bulk` (support staff): one assignee and/or status for
/// every ticket ticked; each ticket changes on its own (a refused
/// transition leaves the others done), and the page says what happened.
pub async fn bulk(
    posted: Posted<access::Support, Bulk>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let b = posted.form;
    if b.ids.is_empty() {
        return Err(Error::Validation("tick at least one ticket".into()).into());
    }
    let status: Option<TicketStatus> = match b.status.as_str() {
        "" => None,
        s => Some(s.parse().map_err(Error::Validation)?),
    };
    let assignee = match b.assignee.as_str() {
        "" => None,
        "-" => Some(None),
        name => Some(Some(name.to_owned())),
    };
    if status.is_none() && assignee.is_none() {
        return Err(Error::Validation("choose an assignee or a status".into()).into());
    }
    let (mut done, mut refused) = (0, Vec::new());
    for id in &b.ids {
        let change = TicketChange {
            status,
            assignee: assignee.clone(),
            priority: None,
        };
        match change_ticket(&state, &posted.signed, *id, change).await {
            Ok(_) => done += 1,
            Err(e @ (Error::Conflict(_) | Error::NotFound(_) | Error::Validation(_))) => {
                refused.push(format!("#{id}: {e}"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let mut notice = format!("{done} ticket(s) changed");
    if !refused.is_empty() {
        notice.push_str(&format!("; refused: {}", refused.join("; ")));
    }
    let back = if b.back.starts_with("view=") {
        b.back
    } else {
        String::new()
    };
    Ok(see_other_saying(&format!("/tickets?{back}"), &notice))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn the_nearest_open_target_is_the_next_deadline() {
        let now = utc("2026-12-01T10:00:00Z");
        let d = next_deadline(
            &Target::Met { at: now },
            &Target::Warning {
                due: utc("2026-12-01T11:05:00Z"),
            },
            now,
        )
        .expect("deadline");
        assert_eq!((d.target, d.class), ("resolution", "warn"));
        assert_eq!(d.text, "in 1 h 05 m");
        let d = next_deadline(
            &Target::Breached {
                due: utc("2026-12-01T09:58:30Z"),
            },
            &Target::OnTrack {
                due: utc("2026-12-01T18:00:00Z"),
            },
            now,
        )
        .expect("deadline");
        assert_eq!((d.target, d.class), ("first response", "bad"));
        assert_eq!(d.text, "breached 1 m 30 s ago");
        assert_eq!(
            next_deadline(&Target::Paused, &Target::Paused, now).err(),
            Some("paused")
        );
    }
}
