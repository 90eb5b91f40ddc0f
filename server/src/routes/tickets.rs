//! `/api/v1/tickets`: the support queue. Every role reads; support staff
//! (and admins) open tickets from other channels, comment (public or
//! internal), change status, assignee and priority, record a repair quote
//! and its answer, and run a warranty return (repair, or replace the box).
//! A ticket's page carries its log, its SLA, the catalog's knowledge-base
//! article and links to the box's telemetry and history.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    audit::{self, Entry},
    auth::{access, Auth},
    catalog,
    domain::tickets::{Channel, Priority, TicketKind, TicketStatus},
    entities::{device, subscriber},
    error::{ApiError, ApiResult},
    state::AppState,
    tickets::{self, Change, NewTicket},
};

pub(crate) fn id_of(path: &str) -> ApiResult<i64> {
    path.parse()
        .map_err(|_| ApiError::NotFound(format!("no ticket {path}")))
}

/// Longest comment or ticket body, in bytes.
pub const MAX_BODY: usize = 16 * 1024;

pub(crate) fn check_text(name: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.trim().is_empty() {
        return Err(ApiError::Validation(format!("{name} must not be empty")));
    }
    if value.len() > max {
        return Err(ApiError::Validation(format!(
            "{name} is longer than {max} bytes"
        )));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<TicketStatus>,
    kind: Option<TicketKind>,
    /// A user name, or `me`.
    assignee: Option<String>,
    subscriber: Option<Uuid>,
    device: Option<Uuid>,
    #[serde(default)]
    active: bool,
    limit: Option<u64>,
}

/// `GET /api/v1/tickets?status=&kind=&assignee=NAME|me&subscriber=&device=&active=true&limit=`
pub async fn list(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let limit = super::limit(q.limit, 100, 1000)?;
    let assignee = match q.assignee.as_deref() {
        Some("me") => Some(auth.user_id),
        Some(name) => Some(super::users::named(&state.db, "assignee", name).await?.id),
        None => None,
    };
    let list = tickets::list(
        &state.db,
        tickets::Filter {
            status: q.status,
            kind: q.kind,
            assignee,
            subscriber_id: q.subscriber,
            device_id: q.device,
            active_only: q.active,
        },
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// `GET /api/v1/tickets/{id}`: the ticket, its whole log, the catalog's
/// article for its fault, and where to read the box's telemetry.
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let t = tickets::find(&state.db, id_of(&path)?).await?;
    let view = tickets::summary(&state.db, &t).await?;
    let log = tickets::history(&state.db, t.id, false).await?;
    let kb = match &t.fault_code {
        Some(code) => catalog::get(&state.db, code).await?.map(|e| e.entry),
        None => None,
    };
    let device = match t.device_id {
        Some(id) => device::Entity::find_by_id(id).one(&state.db).await?,
        None => None,
    };
    let warranty = match &device {
        Some(d) => Some(tickets::warranty_of(&state.db, d, Utc::now()).await?),
        None => None,
    };
    let links = t.device_id.map(|id| {
        serde_json::json!({
            "device": format!("/api/v1/devices/{id}"),
            "events": format!("/api/v1/devices/{id}/events"),
            "faults": format!("/api/v1/devices/{id}/events?type=fault"),
            "series": format!("/api/v1/devices/{id}/series"),
            "tickets": format!("/api/v1/tickets?device={id}"),
            "problem": t.problem_id.map(|p| format!("/api/v1/problems/{p}")),
            "rollout": t.rollout_id.map(|r| format!("/api/v1/rollouts/{r}")),
        })
    });
    let subscriber = match t.subscriber_id {
        Some(id) => subscriber::Entity::find_by_id(id).one(&state.db).await?,
        None => None,
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "ticket": view,
        "subscriber": subscriber.map(|s| serde_json::json!({
            "id": s.id, "account": s.account, "name": s.name, "email": s.email,
            "phone": s.phone, "plan": s.plan,
        })),
        "device": device.map(|d| serde_json::json!({
            "id": d.id, "serial": d.serial, "model": d.model, "installed": d.installed,
            "last_seen_at": d.last_seen_at, "activated_at": d.activated_at,
        })),
        "warranty": warranty,
        "kb": kb,
        "links": links,
        "log": log.into_iter().map(|l| serde_json::json!({
            "at": l.at, "kind": l.kind, "author": l.author, "public": l.public,
            "body": l.body, "data": l.data,
        })).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    channel: Channel,
    subject: String,
    #[serde(default)]
    body: Option<String>,
    kind: Option<TicketKind>,
    /// A subscriber id or account number.
    subscriber: Option<String>,
    /// A device id or serial (it must belong to the subscriber when both
    /// are named).
    device: Option<String>,
    #[serde(default)]
    priority: Option<Priority>,
}

pub(crate) async fn subscriber_by_ref(
    db: &impl sea_orm::ConnectionTrait,
    r: &str,
) -> ApiResult<subscriber::Model> {
    let q = match Uuid::parse_str(r) {
        Ok(id) => subscriber::Entity::find_by_id(id),
        Err(_) => subscriber::Entity::find().filter(subscriber::Column::Account.eq(r)),
    };
    q.one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no subscriber {r:?} (use an id or an account)")))
}

/// `POST /api/v1/tickets` (support staff): a ticket from a phone call,
/// an email, a chat, the app, social media or the portal.
pub async fn create(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    body: web::Json<CreateBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    if b.channel == Channel::Device {
        return Err(ApiError::Validation(
            "channel device is for tickets the boxes' faults open".into(),
        ));
    }
    check_text("subject", &b.subject, 200)?;
    if let Some(text) = &b.body {
        check_text("body", text, MAX_BODY)?;
    }
    let sub = match &b.subscriber {
        Some(r) => Some(subscriber_by_ref(&state.db, r).await?),
        None => None,
    };
    let dev = match &b.device {
        Some(r) => Some(super::devices::find(&state, r).await?),
        None => None,
    };
    if let (Some(s), Some(d)) = (&sub, &dev) {
        if d.subscriber_id != Some(s.id) {
            return Err(ApiError::Validation(format!(
                "device {} does not belong to subscriber {}",
                d.serial, s.account
            )));
        }
    }
    let subscriber_id = sub
        .as_ref()
        .map(|s| s.id)
        .or(dev.as_ref().and_then(|d| d.subscriber_id));
    let caller = auth.caller.clone();
    let t = state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let t = tickets::open(
                    txn,
                    NewTicket::from_channel(
                        b.kind.unwrap_or(TicketKind::Support),
                        b.channel,
                        b.subject,
                        subscriber_id,
                        dev.map(|d| d.id),
                        caller.name.clone(),
                        b.body,
                    ),
                )
                .await?;
                let t = match b.priority {
                    Some(p) => {
                        tickets::change(
                            txn,
                            t.id,
                            Change {
                                priority: Some(p),
                                ..Change::default()
                            },
                            &caller.name,
                        )
                        .await?
                    }
                    None => t,
                };
                audit::record(
                    txn,
                    &caller,
                    Entry {
                        action: "ticket.create",
                        object_type: "ticket",
                        object_id: t.id.to_string(),
                        details: audit::details(&serde_json::json!({ "channel": t.channel })),
                    },
                )
                .await?;
                tickets::summary(txn, &t).await
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(t))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeBody {
    status: Option<TicketStatus>,
    /// A user name, or null to unassign.
    #[serde(default, deserialize_with = "super::present")]
    assignee: Option<Option<String>>,
    priority: Option<Priority>,
}

/// `PATCH /api/v1/tickets/{id}` (support staff): status, assignee, priority.
pub async fn update(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<ChangeBody>,
) -> ApiResult<HttpResponse> {
    let id = id_of(&path)?;
    let b = body.into_inner();
    let assignee = match b.assignee {
        Some(Some(name)) => Some(Some(
            super::users::named(&state.db, "assignee", &name).await?.id,
        )),
        Some(None) => Some(None),
        None => None,
    };
    if b.status.is_none() && assignee.is_none() && b.priority.is_none() {
        return Err(ApiError::Validation(
            "nothing to change: give status, assignee or priority".into(),
        ));
    }
    let caller = auth.caller.clone();
    let view = state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let t = tickets::change(
                    txn,
                    id,
                    Change {
                        status: b.status,
                        assignee,
                        priority: b.priority,
                    },
                    &caller.name,
                )
                .await?;
                tickets::summary(txn, &t).await
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    body: String,
    /// Shown to the subscriber; internal notes are not.
    #[serde(default)]
    public: bool,
}

/// `POST /api/v1/tickets/{id}/comments` (support staff).
pub async fn comment(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<CommentBody>,
) -> ApiResult<HttpResponse> {
    let id = id_of(&path)?;
    let b = body.into_inner();
    check_text("body", &b.body, MAX_BODY)?;
    let name = auth.name.clone();
    let view = state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let t = tickets::comment(txn, id, &name, true, b.public, b.body).await?;
                tickets::summary(txn, &t).await
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteBody {
    /// In the currency's minor unit (cents).
    amount_minor: i64,
    currency: String,
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/v1/tickets/{id}/quote` (support staff): a paid-repair quote
/// on a post-warranty ticket, waiting for the subscriber's answer (the
/// ticket is pending on them meanwhile).
pub async fn quote(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<QuoteBody>,
) -> ApiResult<HttpResponse> {
    let id = id_of(&path)?;
    let b = body.into_inner();
    if !(1..=100_000_000).contains(&b.amount_minor) {
        return Err(ApiError::Validation(
            "amount_minor must be between 1 and 100000000".into(),
        ));
    }
    if b.currency.len() != 3 || !b.currency.bytes().all(|c| c.is_ascii_uppercase()) {
        return Err(ApiError::Validation(
            "currency must be an ISO 4217 code such as EUR".into(),
        ));
    }
    if let Some(n) = &b.note {
        check_text("note", n, MAX_BODY)?;
    }
    let name = auth.name.clone();
    let view = state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let t = tickets::find(txn, id).await?;
                if t.kind != TicketKind::Repair.as_str() {
                    return Err(ApiError::Conflict(format!(
                        "ticket {id} is a {} ticket; quotes are for repair (post-warranty) tickets",
                        t.kind
                    )));
                }
                let quote = serde_json::json!({
                    "amount_minor": b.amount_minor, "currency": b.currency, "note": b.note,
                    "status": "proposed", "quoted_by": name, "quoted_at": Utc::now(),
                });
                let mut row: crate::entities::ticket::ActiveModel = t.clone().into();
                row.quote = Set(Some(quote.clone()));
                row.update(txn).await?;
                tickets::log(txn, id, "quote", &name, true, b.note.clone(), Some(quote)).await?;
                let status: TicketStatus = t.status.parse().map_err(anyhow::Error::msg)?;
                let t = if status.is_active() && status != TicketStatus::Pending {
                    tickets::change(
                        txn,
                        id,
                        Change {
                            status: Some(TicketStatus::Pending),
                            ..Change::default()
                        },
                        &name,
                    )
                    .await?
                } else {
                    tickets::find(txn, id).await?
                };
                let view = tickets::summary(txn, &t).await?;
                crate::webhooks::enqueue(txn, "ticket.quote", &view).await?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// Records the subscriber's answer to a quote (staff taking it by phone,
/// or the subscriber API); the ticket goes back to open.
pub(crate) async fn answer_quote(
    db: &sea_orm::DatabaseConnection,
    id: i64,
    accepted: bool,
    author: String,
) -> ApiResult<tickets::TicketView> {
    db.transaction::<_, _, ApiError>(|txn| {
        Box::pin(async move {
            let t = tickets::find(txn, id).await?;
            let Some(mut quote) = t.quote.clone() else {
                return Err(ApiError::Conflict(format!("ticket {id} has no quote")));
            };
            if quote["status"] != "proposed" {
                return Err(ApiError::Conflict(format!(
                    "the quote on ticket {id} was already {}",
                    quote["status"].as_str().unwrap_or("answered")
                )));
            }
            quote["status"] = serde_json::json!(if accepted { "accepted" } else { "declined" });
            quote["answered_at"] = serde_json::json!(Utc::now());
            let mut row: crate::entities::ticket::ActiveModel = t.clone().into();
            row.quote = Set(Some(quote.clone()));
            row.update(txn).await?;
            tickets::log(txn, id, "quote_answer", &author, true, None, Some(quote)).await?;
            let t = if t.status == TicketStatus::Pending.as_str() {
                tickets::change(
                    txn,
                    id,
                    Change {
                        status: Some(TicketStatus::Open),
                        ..Change::default()
                    },
                    &author,
                )
                .await?
            } else {
                tickets::find(txn, id).await?
            };
            let view = tickets::summary(txn, &t).await?;
            crate::webhooks::enqueue(txn, "ticket.quote_answered", &view).await?;
            Ok(view)
        })
    })
    .await
    .map_err(ApiError::from)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteAnswer {
    accepted: bool,
}

/// `POST /api/v1/tickets/{id}/quote/answer` (support staff, for an answer
/// given by phone or email).
pub async fn quote_answer(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<QuoteAnswer>,
) -> ApiResult<HttpResponse> {
    let view = answer_quote(&state.db, id_of(&path)?, body.accepted, auth.name.clone()).await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase", tag = "action")]
pub enum RmaBody {
    /// The box goes to the workshop and comes back.
    Repair {
        #[serde(default)]
        note: Option<String>,
    },
    /// A new box: the subscriber, licences and history move to it and the
    /// old one is retired.
    Replace {
        /// The replacement's serial or id (enrolled).
        replacement: String,
        #[serde(default)]
        note: Option<String>,
    },
}

/// `POST /api/v1/tickets/{id}/rma` (support staff, warranty tickets).
pub async fn rma(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<RmaBody>,
) -> ApiResult<HttpResponse> {
    let id = id_of(&path)?;
    let t = tickets::find(&state.db, id).await?;
    if t.kind != TicketKind::Warranty.as_str() {
        return Err(ApiError::Conflict(format!(
            "ticket {id} is a {} ticket; returns are for warranty tickets",
            t.kind
        )));
    }
    let Some(old_id) = t.device_id else {
        return Err(ApiError::Conflict(format!("ticket {id} names no box")));
    };
    let replacement = match &*body {
        RmaBody::Replace { replacement, .. } => {
            let new = super::devices::find(&state, replacement).await?;
            if new.id == old_id {
                return Err(ApiError::Validation("a box cannot replace itself".into()));
            }
            if new.subscriber_id.is_some() {
                return Err(ApiError::Conflict(format!(
                    "box {} already belongs to a subscriber",
                    new.serial
                )));
            }
            Some(new)
        }
        RmaBody::Repair { .. } => None,
    };
    let caller = auth.caller.clone();
    let body = body.into_inner();
    let view = state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let now = Utc::now();
                let (action, note) = match &body {
                    RmaBody::Repair { note } => ("repair", note.clone()),
                    RmaBody::Replace { note, .. } => ("replace", note.clone()),
                };
                let mut rma = serde_json::json!({
                    "action": action, "note": note, "by": caller.name, "at": now,
                });
                let mut retired = None;
                if let Some(new) = &replacement {
                    retired = Some(crate::aftersales::replace(txn, old_id, new.id, now).await?);
                    rma["replacement"] = serde_json::json!({ "id": new.id, "serial": new.serial });
                }
                let mut row: crate::entities::ticket::ActiveModel = t.clone().into();
                row.rma = Set(Some(rma.clone()));
                row.updated_at = Set(now);
                row.update(txn).await?;
                tickets::log(txn, id, "rma", &caller.name, true, note, Some(rma.clone())).await?;
                audit::record(
                    txn,
                    &caller,
                    Entry {
                        action: "ticket.rma",
                        object_type: "ticket",
                        object_id: id.to_string(),
                        details: Some(rma),
                    },
                )
                .await?;
                let t = tickets::find(txn, id).await?;
                let view = tickets::summary(txn, &t).await?;
                crate::webhooks::enqueue(txn, "ticket.rma", &view).await?;
                Ok((view, retired))
            })
        })
        .await?;
    let (view, retired) = view;
    if let Some(old) = retired {
        state.directory.put(&old);
        state.mqtt.remove_device(old.id);
    }
    Ok(HttpResponse::Ok().json(view))
}
