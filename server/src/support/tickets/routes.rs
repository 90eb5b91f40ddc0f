//! `/api/v1/tickets`: the support queue. Every role reads; support staff
//! (and admins) open tickets from other channels, comment (public or
//! internal), and change status, assignee and priority. A ticket's page
//! carries its log, its SLA, the catalog's knowledge-base article and links
//! to the box's telemetry and history. Quotes and returns are
//! `support::quotes` and `support::rma`.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, TransactionTrait};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wavecast_protocol::Problem;

use super::{
    queue::{self, Sort, View, ViewCount},
    rules::{Channel, TicketKind, TicketStatus},
    store::{self as tickets, Change, NewTicket},
    view::{summary, TicketView},
};
use crate::support::views::{NewTicketBody, TicketChange, TicketComment};
use crate::{
    fleet::{catalog::store as catalog, devices::store as devices},
    http::params::{checked, limit},
    identity::{
        audit::store::{self as audit, Entry},
        auth::{access, Auth},
        caller::Caller,
        roles::Role,
        users::store::named,
    },
    platform::{
        entities::{device, subscriber},
        error::{Error, Result},
        text::{Line, Paragraphs},
    },
    state::AppState,
    support::{
        subscribers::store::subscriber_by_ref,
        views::{LogView, TicketDetail, TicketDevice, TicketLinks, TicketSubscriber},
        warranty::store::warranty_of,
    },
};

/// The ticket number in a path, or 404.
pub fn id_of(path: &str) -> Result<i64> {
    path.parse()
        .map_err(|_| Error::NotFound(format!("no ticket {path}")))
}

/// Longest comment or ticket body, in characters.
pub const MAX_BODY: usize = 16 * 1024;
/// Longest subject, in characters.
pub const MAX_SUBJECT: usize = 200;

/// `GET /api/v1/tickets`: the queue's filters, order and page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// A saved view, as the caller sees it (`mine` is theirs).
    #[param(inline)]
    view: Option<View>,
    /// Only tickets in this status.
    #[param(inline)]
    status: Option<TicketStatus>,
    /// Only tickets of this kind (queue).
    #[param(inline)]
    kind: Option<TicketKind>,
    /// A user name, or `me`.
    assignee: Option<String>,
    /// Only the tickets of this subscriber (id).
    subscriber: Option<Uuid>,
    /// Only the tickets of this box (id).
    device: Option<Uuid>,
    /// Only active tickets (new, open, pending).
    #[serde(default)]
    active: bool,
    /// The order: newest first (default), nearest SLA deadline first, or
    /// oldest first.
    #[serde(default)]
    #[param(inline)]
    sort: Sort,
    /// Tickets to skip.
    #[serde(default)]
    offset: u64,
    /// Tickets to return: 1 to 1000, 100 unless given.
    limit: Option<u64>,
}

/// The header carrying how many tickets pass the filter in all.
pub const TOTAL_HEADER: &str = "X-Total-Count";

/// `GET /api/v1/tickets?view=&status=&kind=&assignee=NAME|me&subscriber=&device=&active=true&sort=newest|next_due|oldest&offset=&limit=`:
/// one page of the queue; the total in `X-Total-Count`.
#[utoipa::path(
    get,
    path = "/api/v1/tickets",
    tag = "support",
    params(ListQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "One page of the queue", body = Vec<TicketView>,
            headers(("X-Total-Count" = u64, description = "How many tickets pass the filter in all"))),
    )
)]
pub async fn list(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let limit = limit(q.limit, 100, 1000)?;
    let assignee = match q.assignee.as_deref() {
        Some("me") => Some(auth.user_id),
        Some(name) => Some(named(&state.db, "assignee", name).await?.id),
        None => None,
    };
    let filter = queue::Filter {
        view: q.view.map(|v| (v, auth.user_id)),
        status: q.status,
        kind: q.kind,
        assignee,
        subscriber_id: q.subscriber,
        device_id: q.device,
        active_only: q.active,
    };
    let page = queue::Page {
        sort: q.sort,
        offset: q.offset,
        limit,
    };
    let (list, total) = queue::list(&state.db, &filter, page, state.clock.now()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((TOTAL_HEADER, total.to_string()))
        .json(list))
}

/// `GET /api/v1/tickets/views`: each saved view with how many tickets it
/// holds for the caller.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/views",
    tag = "support",
    security(("operator" = [])),
    responses(
        (status = 200, description = "Each saved view with its count for the caller", body = Vec<ViewCount>),
    )
)]
pub async fn views(auth: Auth<access::Viewer>, state: web::Data<AppState>) -> Result<HttpResponse> {
    let counts = queue::counts(&state.db, auth.user_id, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(counts))
}

/// `GET /api/v1/tickets/{id}`: the ticket, its whole log, the catalog's
/// article for its fault, and where to read the box's telemetry.
#[utoipa::path(
    get,
    path = "/api/v1/tickets/{id}",
    tag = "support",
    params(("id" = String, Path, description = "Ticket number")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The ticket with its log, subscriber, box, warranty, article and links", body = TicketDetail),
    )
)]
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let d = detail(&state.db, id_of(&path)?, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Ticket `id` with its whole log, subscriber, box, warranty, article and
/// links, at `now` (the API's ticket and the console's ticket page).
pub async fn detail(
    db: &impl ConnectionTrait,
    id: i64,
    now: DateTime<Utc>,
) -> Result<TicketDetail> {
    let t = tickets::find(db, id).await?;
    let view = summary(db, &t, now).await?;
    let log = tickets::history(db, t.id, false).await?;
    let kb = match &t.fault_code {
        Some(code) => catalog::get(db, code).await?.map(|e| e.entry),
        None => None,
    };
    let device = match t.device_id {
        Some(id) => device::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    let warranty = match &device {
        Some(d) => Some(warranty_of(db, d, now).await?),
        None => None,
    };
    let links = t.device_id.map(|id| TicketLinks {
        device: format!("/api/v1/devices/{id}"),
        events: format!("/api/v1/devices/{id}/events"),
        faults: format!("/api/v1/devices/{id}/events?type=fault"),
        series: format!("/api/v1/devices/{id}/series"),
        tickets: format!("/api/v1/tickets?device={id}"),
        problem: t.problem_id.map(|p| format!("/api/v1/problems/{p}")),
        rollout: t.rollout_id.map(|r| format!("/api/v1/rollouts/{r}")),
    });
    let subscriber = match t.subscriber_id {
        Some(id) => subscriber::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    Ok(TicketDetail {
        ticket: view,
        subscriber: subscriber.map(|s| TicketSubscriber {
            id: s.id,
            account: s.account,
            name: s.name,
            email: s.email,
            phone: s.phone,
            plan: s.plan,
        }),
        device: device.map(|d| TicketDevice {
            id: d.id,
            serial: d.serial,
            model: d.model,
            installed: d.installed,
            last_seen_at: d.last_seen_at,
            activated_at: d.activated_at,
        }),
        warranty,
        kb,
        links,
        log: log
            .into_iter()
            .map(|l| LogView {
                at: l.at,
                kind: l.kind,
                author: l.author,
                public: l.public,
                body: l.body,
                data: l.data,
            })
            .collect(),
    })
}

/// What the audit log keeps of a ticket support staff opened.
#[derive(Debug, Serialize)]
struct Opened {
    channel: Channel,
}

/// `POST /api/v1/tickets` (support staff): a ticket from a phone call,
/// an email, a chat, the app, social media or the portal.
#[utoipa::path(
    post,
    path = "/api/v1/tickets",
    tag = "support",
    request_body = NewTicketBody,
    security(("operator" = [])),
    responses(
        (status = 201, description = "The ticket opened", body = TicketView),
        (status = 404, description = "The subscriber or device named does not exist", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    body: web::Json<NewTicketBody>,
) -> Result<HttpResponse> {
    let t = open_from_channel(&state, &auth, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(t))
}

/// Opens the ticket `b` describes for `caller` (support staff), audited.
pub async fn open_from_channel(
    state: &AppState,
    caller: &Caller,
    b: NewTicketBody,
) -> Result<TicketView> {
    caller.demand(Role::Support)?;
    if b.channel == Channel::Device {
        return Err(Error::Validation(
            "channel device is for tickets the boxes' faults open".into(),
        ));
    }
    let subject = checked(Line::parse("subject", &b.subject, MAX_SUBJECT))?;
    let text = match &b.body {
        Some(t) => Some(checked(Paragraphs::parse("body", t, MAX_BODY))?.into_string()),
        None => None,
    };
    let sub = match &b.subscriber {
        Some(r) => Some(subscriber_by_ref(&state.db, r).await?),
        None => None,
    };
    let dev = match &b.device {
        Some(r) => Some(devices::find(&state.db, r).await?),
        None => None,
    };
    if let (Some(s), Some(d)) = (&sub, &dev) {
        if d.subscriber_id != Some(s.id) {
            return Err(Error::Validation(format!(
                "device {} does not belong to subscriber {}",
                d.serial, s.account
            )));
        }
    }
    let subscriber_id = sub
        .as_ref()
        .map(|s| s.id)
        .or(dev.as_ref().and_then(|d| d.subscriber_id));
    let caller = caller.clone();
    let now = state.clock.now();
    state
        .db
        .transaction::<_, _, Error>(|txn| {
            Box::pin(async move {
                let t = tickets::open(
                    txn,
                    NewTicket::from_channel(
                        b.kind.unwrap_or(TicketKind::Support),
                        b.channel,
                        subject.into_string(),
                        subscriber_id,
                        dev.map(|d| d.id),
                        caller.name.clone(),
                        text,
                    ),
                    now,
                )
                .await?;
                let t = match b.priority {
                    Some(p) => {
                        let change = Change {
                            priority: Some(p),
                            ..Change::default()
                        };
                        tickets::change(txn, t.id, change, &caller.name, now).await?
                    }
                    None => t,
                };
                let entry = Entry::new("ticket.create", "ticket", t.id.to_string())
                    .details(&Opened { channel: t.channel });
                audit::record(txn, &caller, now, entry).await?;
                summary(txn, &t, now).await
            })
        })
        .await
        .map_err(Error::from)
}

/// `PATCH /api/v1/tickets/{id}` (support staff): status, assignee, priority.
#[utoipa::path(
    patch,
    path = "/api/v1/tickets/{id}",
    tag = "support",
    params(("id" = String, Path, description = "Ticket number")),
    request_body = TicketChange,
    security(("operator" = [])),
    responses(
        (status = 200, description = "The ticket after the change", body = TicketView),
        (status = 409, description = "The status change is not allowed from the ticket's status", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<TicketChange>,
) -> Result<HttpResponse> {
    let view = change_ticket(&state, &auth, id_of(&path)?, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Applies `b` to ticket `id` for `caller` (support staff).
pub async fn change_ticket(
    state: &AppState,
    caller: &Caller,
    id: i64,
    b: TicketChange,
) -> Result<TicketView> {
    caller.demand(Role::Support)?;
    let assignee = match b.assignee {
        Some(Some(name)) => Some(Some(named(&state.db, "assignee", &name).await?.id)),
        Some(None) => Some(None),
        None => None,
    };
    if b.status.is_none() && assignee.is_none() && b.priority.is_none() {
        return Err(Error::Validation(
            "nothing to change: give status, assignee or priority".into(),
        ));
    }
    let name = caller.name.clone();
    let now = state.clock.now();
    state
        .db
        .transaction::<_, _, Error>(|txn| {
            Box::pin(async move {
                let change = Change {
                    status: b.status,
                    assignee,
                    priority: b.priority,
                };
                let t = tickets::change(txn, id, change, &name, now).await?;
                summary(txn, &t, now).await
            })
        })
        .await
        .map_err(Error::from)
}

/// `POST /api/v1/tickets/{id}/comments` (support staff).
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/comments",
    tag = "support",
    params(("id" = String, Path, description = "Ticket number")),
    request_body = TicketComment,
    security(("operator" = [])),
    responses(
        (status = 201, description = "The ticket after the comment", body = TicketView),
        (status = 409, description = "The ticket is closed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn comment(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<TicketComment>,
) -> Result<HttpResponse> {
    let view = add_comment(&state, &auth, id_of(&path)?, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Adds `b` to ticket `id` as `caller` (support staff): public, or an
/// internal note.
pub async fn add_comment(
    state: &AppState,
    caller: &Caller,
    id: i64,
    b: TicketComment,
) -> Result<TicketView> {
    caller.demand(Role::Support)?;
    let text = checked(Paragraphs::parse("body", &b.body, MAX_BODY))?.into_string();
    let name = caller.name.clone();
    let now = state.clock.now();
    state
        .db
        .transaction::<_, _, Error>(|txn| {
            Box::pin(async move {
                let t = tickets::comment(txn, id, &name, true, b.public, text, now).await?;
                summary(txn, &t, now).await
            })
        })
        .await
        .map_err(Error::from)
}
