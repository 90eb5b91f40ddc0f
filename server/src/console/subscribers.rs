//! `/subscribers`: the people boxes belong to, as support staff find and
//! look after them. The list searches account, name, email and phone
//! (`support::subscribers::store::search`, as the REST list does); a
//! subscriber's page shows their plan, contact and dedicated agent, their
//! boxes (online, versions, warranty, open tickets), their tickets and
//! surveys, and lets support staff change the record, link and unlink
//! boxes and issue an app token, shown once. Every change goes through the
//! same functions as the REST API, which demand the support role.

use actix_web::{http::header, web, HttpResponse};
use askama::Template;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;

use super::{
    guard::{Posted, Signed},
    licences::{held_by_subscriber, Held},
    page::{filled, render, see_other_saying, Failure, Notice, Section, Shell},
    ticket::versions,
    tickets::{agents, rows_of, Row},
};
use crate::{
    identity::auth::{access, Permission},
    platform::entities::{plan, survey},
    state::AppState,
    support::{
        subscribers::{
            routes::{create_subscriber, issue_token, link_box, unlink_box, update_subscriber},
            store::{boxes_of, search, subscriber_by_ref, subscriber_view},
        },
        tickets::queue,
        views::{
            LinkBody, SubscriberBody, SubscriberBox, SubscriberPatch, SubscriberTokenCreated,
            SubscriberView,
        },
    },
};

/// Subscribers per page of the list.
const PER_PAGE: u64 = 50;

/// Tickets the subscriber's page lists, newest first.
const TICKETS: u64 = 50;

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    plan: Option<String>,
    page: Option<u64>,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "console/subscribers.html")]
struct ListPage {
    shell: Shell,
    q: String,
    plan: String,
    plans: Vec<(String, String)>,
    agents: Vec<String>,
    rows: Vec<SubscriberView>,
    total: u64,
    page: u64,
    pages: u64,
    notice: Option<String>,
}

impl ListPage {
    fn at_page(&self, page: u64) -> String {
        serde_urlencoded::to_string([
            ("q", self.q.as_str()),
            ("plan", self.plan.as_str()),
            ("page", &page.to_string()),
        ])
        .unwrap_or_default()
    }
}

/// The plans by key and name, highest rank first.
pub async fn plans(state: &AppState) -> Result<Vec<(String, String)>, Failure> {
    Ok(plan::Entity::find()
        .order_by_desc(plan::Column::Rank)
        .all(&state.reads)
        .await?
        .into_iter()
        .map(|p| (p.key, p.name))
        .collect())
}

/// `GET /subscribers?q=&plan=&page=`
pub async fn list(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, Failure> {
    let q = q.into_inner();
    let page = q.page.unwrap_or(0);
    let (total, found) = search(
        &state.reads,
        q.q.as_deref(),
        q.plan.as_deref(),
        page * PER_PAGE,
        PER_PAGE,
    )
    .await?;
    let mut rows = Vec::with_capacity(found.len());
    for s in &found {
        rows.push(subscriber_view(&state.reads, s).await?);
    }
    render(&ListPage {
        shell: signed.shell("Subscribers", Section::Subscribers),
        q: q.q.unwrap_or_default(),
        plan: q.plan.unwrap_or_default(),
        plans: plans(&state).await?,
        agents: agents(&state).await?,
        rows,
        total,
        page,
        pages: total.div_ceil(PER_PAGE).max(1),
        notice: q.notice,
    })
}

#[derive(Debug, Deserialize)]
pub struct NewSubscriber {
    account: String,
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    plan: String,
    #[serde(default)]
    dedicated_agent: String,
}

/// `POST /subscribers` (support staff): records a subscriber and opens
/// their page.
pub async fn create(
    posted: Posted<access::Support, NewSubscriber>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let f = posted.form;
    let b = SubscriberBody {
        account: f.account.trim().to_owned(),
        name: f.name,
        email: filled(&f.email),
        phone: filled(&f.phone),
        plan: f.plan,
        dedicated_agent: filled(&f.dedicated_agent),
    };
    let s = create_subscriber(&state, &posted.signed.caller, b).await?;
    Ok(see_other_saying(
        &format!("/subscribers/{}", s.account),
        "Subscriber recorded.",
    ))
}

/// A survey as the subscriber's page lists it.
#[derive(Debug)]
pub struct SurveyLine {
    pub ticket_id: i64,
    pub sent: String,
    pub answer: Option<(i32, String)>,
}

#[derive(Template)]
#[template(path = "console/subscriber.html")]
struct SubscriberPage {
    shell: Shell,
    s: SubscriberView,
    boxes: Vec<(SubscriberBox, String)>,
    tickets: Vec<Row>,
    surveys: Vec<SurveyLine>,
    licences: Vec<Held>,
    plans: Vec<(String, String)>,
    agents: Vec<String>,
    /// A token just issued, shown this once.
    token: Option<SubscriberTokenCreated>,
    notice: Option<String>,
    now: i64,
}

/// Subscriber `id`'s boxes now, each with what it runs in words.
pub async fn boxes(
    state: &AppState,
    id: uuid::Uuid,
) -> Result<Vec<(SubscriberBox, String)>, Failure> {
    let now = state.clock.now();
    let online = state.config.telemetry.online_secs;
    Ok(boxes_of(&state.reads, id, now, online)
        .await?
        .into_iter()
        .map(|b| {
            let v = b.installed.as_ref().map(versions).unwrap_or_default();
            (b, v)
        })
        .collect())
}

async fn subscriber_page<P: Permission>(
    signed: &Signed<P>,
    state: &AppState,
    r: &str,
    token: Option<SubscriberTokenCreated>,
    notice: Option<String>,
) -> Result<HttpResponse, Failure> {
    let db = &state.reads;
    let now = state.clock.now();
    let s = subscriber_by_ref(db, r).await?;
    let boxes = boxes(state, s.id).await?;
    let rows = queue::of_subscriber(db, s.id, TICKETS, now).await?;
    let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    let surveys = survey::Entity::find()
        .filter(survey::Column::TicketId.is_in(ids))
        .order_by_desc(survey::Column::TicketId)
        .all(db)
        .await?
        .into_iter()
        .map(|v| SurveyLine {
            ticket_id: v.ticket_id,
            sent: v.created_at.format("%Y-%m-%d").to_string(),
            answer: v.score.map(|n| (n, v.comment.unwrap_or_default())),
        })
        .collect();
    let view = subscriber_view(db, &s).await?;
    let page = SubscriberPage {
        shell: signed.shell(format!("Subscriber {}", s.account), Section::Subscribers),
        tickets: rows_of(state, rows, now).await?,
        licences: held_by_subscriber(state, s.id).await?,
        s: view,
        boxes,
        surveys,
        plans: plans(state).await?,
        agents: agents(state).await?,
        token,
        notice,
        now: now.timestamp(),
    };
    let mut res = render(&page)?;
    // A page carrying a secret is kept by no cache (nor the back button's).
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// `GET /subscribers/{account}`
pub async fn page(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    n: web::Query<Notice>,
) -> Result<HttpResponse, Failure> {
    subscriber_page(&signed, &state, &path, None, n.into_inner().notice).await
}

#[derive(Debug, Deserialize)]
pub struct Act {
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    plan: String,
    #[serde(default)]
    dedicated_agent: String,
    #[serde(default)]
    device: String,
}

/// `POST /subscribers/{account}` (support staff): change the record, link
/// or unlink a box, issue an app token (the answer shows it once).
pub async fn act(
    posted: Posted<access::Support, Act>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let caller = &posted.signed.caller;
    let r = path.into_inner();
    let f = posted.form;
    let done = match f.action.as_str() {
        "change" => {
            let b = SubscriberPatch {
                name: filled(&f.name),
                email: filled(&f.email),
                phone: filled(&f.phone),
                plan: filled(&f.plan),
                dedicated_agent: match f.dedicated_agent.as_str() {
                    "" => None,
                    "-" => Some(None),
                    n => Some(Some(n.to_owned())),
                },
            };
            update_subscriber(&state, caller, &r, b).await?;
            "Subscriber changed; their open tickets follow the plan and agent."
        }
        "link" => {
            let device = filled(&f.device).ok_or_else(|| {
                Failure::from(crate::platform::error::Error::Validation(
                    "give the box's serial".into(),
                ))
            })?;
            let b = LinkBody {
                device,
                activated_at: None,
            };
            link_box(&state, caller, &r, b).await?;
            "Box linked; its open tickets now belong to this subscriber."
        }
        "unlink" => {
            unlink_box(&state, caller, &r, f.device.trim()).await?;
            "Box unlinked; its open tickets left this subscriber."
        }
        "token" => {
            let t = issue_token(&state, caller, &r).await?;
            return subscriber_page(&posted.signed, &state, &r, Some(t), None).await;
        }
        other => {
            return Err(crate::platform::error::Error::Validation(format!(
                "unknown action {other:?}"
            ))
            .into());
        }
    };
    let s = subscriber_by_ref(&state.reads, &r).await?;
    Ok(see_other_saying(
        &format!("/subscribers/{}", s.account),
        done,
    ))
}

impl SubscriberPage {
    fn has_open(&self) -> bool {
        self.tickets.iter().any(|t| t.status.is_active())
    }
}
