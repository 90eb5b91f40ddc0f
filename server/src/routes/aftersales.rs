//! The after-sales back office around tickets: plans and their SLA
//! policies, warranty periods per model, subscribers (their boxes, their
//! dedicated agent, their API tokens), a box's activation and warranty
//! void flag, support agents' queues and shifts, outbound webhooks, and the
//! ticket report. Every role reads; support staff and admins write (plans,
//! policies, warranties and webhooks: admins only).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::OnConflict, ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, TransactionTrait,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    audit::{self, Entry},
    auth::{access, Auth, Caller},
    domain::{
        role::Role,
        tickets::{SlaTerms, TicketKind},
        token::{self, Scheme},
        webhook::check_url,
    },
    entities::{
        device, model_warranty, plan, subscriber, subscriber_token, support_agent, user, webhook,
        webhook_delivery,
    },
    error::{ApiError, ApiResult},
    state::AppState,
    tickets,
};

use super::tickets::{check_text, subscriber_by_ref};

async fn audit_one(
    db: &impl sea_orm::ConnectionTrait,
    caller: &Caller,
    action: &str,
    object_type: &str,
    object_id: String,
    details: serde_json::Value,
) -> ApiResult<()> {
    audit::record(
        db,
        caller,
        Entry {
            action,
            object_type,
            object_id,
            details: Some(details),
        },
    )
    .await
}

/// A plan key: 1 to `max` lowercase letters, digits, `-` or `_`.
fn check_key(name: &str, v: &str, max: usize) -> ApiResult<()> {
    let ok = (1..=max).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::Validation(format!(
            "{name} must be 1 to {max} lowercase letters, digits, '-' or '_'"
        )))
    }
}

// ---- plans and SLA policies ----

/// `GET /api/v1/plans`: every plan with its policy per ticket kind.
pub async fn plans(_: Auth<access::Viewer>, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let plans = plan::Entity::find()
        .order_by_asc(plan::Column::Rank)
        .all(&state.db)
        .await?;
    let mut out = Vec::new();
    for p in plans {
        let mut policies = serde_json::Map::new();
        for k in TicketKind::ALL {
            if let Ok(t) = tickets::terms_of(&state.db, &p.key, k).await {
                policies.insert(
                    k.as_str().into(),
                    serde_json::to_value(t).unwrap_or_default(),
                );
            }
        }
        out.push(serde_json::json!({
            "key": p.key, "name": p.name, "rank": p.rank, "sla": policies,
        }));
    }
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    name: String,
    /// Higher is served first; 2 and above raise ticket priority.
    rank: i32,
}

/// `PUT /api/v1/plans/{key}` (admin): creates a plan (with the basic plan's
/// policies as a start, or 24/5 office hours when there is none) or renames
/// and re-ranks one.
pub async fn put_plan(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<PlanBody>,
) -> ApiResult<HttpResponse> {
    let key = path.into_inner();
    check_key("plan", &key, 32)?;
    check_text("name", &body.name, 100)?;
    if !(0..=100).contains(&body.rank) {
        return Err(ApiError::Validation(
            "rank must be between 0 and 100".into(),
        ));
    }
    let caller = auth.caller.clone();
    let tz = state.config.tickets.business_timezone.clone();
    let b = body.into_inner();
    let created = state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let existed = plan::Entity::find_by_id(key.clone())
                    .one(txn)
                    .await?
                    .is_some();
                plan::Entity::insert(plan::ActiveModel {
                    key: Set(key.clone()),
                    name: Set(b.name.clone()),
                    rank: Set(b.rank),
                    created_at: Set(Utc::now()),
                })
                .on_conflict(
                    OnConflict::column(plan::Column::Key)
                        .update_columns([plan::Column::Name, plan::Column::Rank])
                        .to_owned(),
                )
                .exec(txn)
                .await?;
                if !existed {
                    for k in TicketKind::ALL {
                        let terms = match tickets::terms_of(txn, tickets::FALLBACK_PLAN, k).await {
                            Ok(t) => t,
                            Err(_) => tickets::last_resort_terms(&tz),
                        };
                        tickets::put_policy(txn, &key, k, &terms).await?;
                    }
                }
                audit_one(
                    txn,
                    &caller,
                    "plan.put",
                    "plan",
                    key,
                    serde_json::json!({ "name": b.name, "rank": b.rank }),
                )
                .await?;
                Ok(!existed)
            })
        })
        .await?;
    Ok(if created {
        HttpResponse::Created().finish()
    } else {
        HttpResponse::NoContent().finish()
    })
}

/// `PUT /api/v1/plans/{key}/sla/{kind}` (admin): the plan's targets,
/// calendar, warning share and escalation contact for one ticket kind.
/// Tickets keep the terms they opened with.
pub async fn put_sla(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: web::Json<SlaTerms>,
) -> ApiResult<HttpResponse> {
    let (key, kind) = path.into_inner();
    let kind: TicketKind = kind.parse().map_err(ApiError::NotFound)?;
    body.check().map_err(ApiError::Validation)?;
    if plan::Entity::find_by_id(key.clone())
        .one(&state.db)
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound(format!("no plan {key:?}")));
    }
    if let Some(name) = &body.escalate_to {
        super::users::named(&state.db, "escalate_to", name).await?;
    }
    let caller = auth.caller.clone();
    let terms = body.into_inner();
    state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                tickets::put_policy(txn, &key, kind, &terms).await?;
                audit_one(
                    txn,
                    &caller,
                    "sla.put",
                    "plan",
                    format!("{key}/{kind}"),
                    tickets::json(&terms)?,
                )
                .await
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- warranty ----

/// `GET /api/v1/warranties`: the warranty period of each model.
pub async fn warranties(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let all = model_warranty::Entity::find()
        .order_by_asc(model_warranty::Column::Model)
        .all(&state.db)
        .await?;
    Ok(HttpResponse::Ok().json(
        all.into_iter()
            .map(|w| serde_json::json!({ "model": w.model, "months": w.months }))
            .collect::<Vec<_>>(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarrantyBody {
    months: i32,
}

/// `PUT /api/v1/warranties/{model}` (admin).
pub async fn put_warranty(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<WarrantyBody>,
) -> ApiResult<HttpResponse> {
    let model = path.into_inner();
    check_text("model", &model, 64)?;
    if !(0..=240).contains(&body.months) {
        return Err(ApiError::Validation(
            "months must be between 0 and 240".into(),
        ));
    }
    let caller = auth.caller.clone();
    let months = body.months;
    state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                model_warranty::Entity::insert(model_warranty::ActiveModel {
                    model: Set(model.clone()),
                    months: Set(months),
                })
                .on_conflict(
                    OnConflict::column(model_warranty::Column::Model)
                        .update_column(model_warranty::Column::Months)
                        .to_owned(),
                )
                .exec(txn)
                .await?;
                audit_one(
                    txn,
                    &caller,
                    "warranty.put",
                    "model",
                    model,
                    serde_json::json!({ "months": months }),
                )
                .await
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceWarrantyBody {
    /// When the subscriber started using the box.
    activated_at: Option<DateTime<Utc>>,
    /// Why the warranty is void; null restores it.
    #[serde(default, deserialize_with = "super::present")]
    void_reason: Option<Option<String>>,
}

/// `PATCH /api/v1/devices/{ref}/warranty` (support staff): the activation
/// date and the warranty-void flag with its reason.
pub async fn device_warranty(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<DeviceWarrantyBody>,
) -> ApiResult<HttpResponse> {
    let d = super::devices::find(&state, &path).await?;
    let b = body.into_inner();
    if let Some(Some(r)) = &b.void_reason {
        check_text("void_reason", r, 500)?;
    }
    let caller = auth.caller.clone();
    let updated = state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let serial = d.serial.clone();
                let mut m: device::ActiveModel = d.into();
                if let Some(at) = b.activated_at {
                    m.activated_at = Set(Some(at));
                }
                if let Some(v) = b.void_reason.clone() {
                    m.warranty_void_reason = Set(v);
                }
                let m = m.update(txn).await?;
                audit_one(
                    txn,
                    &caller,
                    "device.warranty",
                    "device",
                    serial,
                    serde_json::json!({ "activated_at": b.activated_at, "void_reason": b.void_reason }),
                )
                .await?;
                Ok(m)
            })
        })
        .await?;
    let w = tickets::warranty_of(&state.db, &updated, Utc::now()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "device": super::devices::device_view(updated)?,
        "warranty": w,
    })))
}

// ---- subscribers ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberBody {
    account: String,
    name: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    plan: String,
    /// A support user's name.
    #[serde(default)]
    dedicated_agent: Option<String>,
}

/// Fails with 422 unless user `u` may work tickets (support or admin).
fn works_tickets(u: &user::Model, field: &str) -> ApiResult<()> {
    let role: Role = u.role.parse().map_err(anyhow::Error::msg)?;
    if role.grants(Role::Support) {
        Ok(())
    } else {
        Err(ApiError::Validation(format!(
            "{field}: {} has the {role} role, not support",
            u.name
        )))
    }
}

/// The support user a body names as a dedicated agent.
async fn agent_id(db: &impl sea_orm::ConnectionTrait, name: &str) -> ApiResult<Uuid> {
    let u = super::users::named(db, "dedicated_agent", name).await?;
    works_tickets(&u, "dedicated_agent")?;
    Ok(u.id)
}

async fn check_plan(db: &impl sea_orm::ConnectionTrait, key: &str) -> ApiResult<()> {
    if plan::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .is_none()
    {
        return Err(ApiError::Validation(format!("plan: no plan {key:?}")));
    }
    Ok(())
}

async fn subscriber_view(
    db: &impl sea_orm::ConnectionTrait,
    s: &subscriber::Model,
) -> ApiResult<serde_json::Value> {
    let boxes = device::Entity::find()
        .filter(device::Column::SubscriberId.eq(s.id))
        .all(db)
        .await?;
    let agent = match s.dedicated_agent {
        Some(id) => user::Entity::find_by_id(id).one(db).await?.map(|u| u.name),
        None => None,
    };
    Ok(serde_json::json!({
        "id": s.id, "account": s.account, "name": s.name, "email": s.email, "phone": s.phone,
        "plan": s.plan, "dedicated_agent": agent,
        "devices": boxes.into_iter().map(|d| serde_json::json!({
            "id": d.id, "serial": d.serial, "model": d.model, "activated_at": d.activated_at,
        })).collect::<Vec<_>>(),
        "created_at": s.created_at, "updated_at": s.updated_at,
    }))
}

fn check_subscriber(b: &SubscriberBody) -> ApiResult<()> {
    check_text("account", &b.account, 64)?;
    check_text("name", &b.name, 200)?;
    if let Some(e) = &b.email {
        check_text("email", e, 200)?;
        if !e.contains('@') {
            return Err(ApiError::Validation(
                "email must be an email address".into(),
            ));
        }
    }
    if let Some(p) = &b.phone {
        check_text("phone", p, 64)?;
    }
    Ok(())
}

/// `POST /api/v1/subscribers` (support staff).
pub async fn create_subscriber(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    body: web::Json<SubscriberBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    check_subscriber(&b)?;
    check_plan(&state.db, &b.plan).await?;
    let agent = match &b.dedicated_agent {
        Some(n) => Some(agent_id(&state.db, n).await?),
        None => None,
    };
    if subscriber::Entity::find()
        .filter(subscriber::Column::Account.eq(b.account.clone()))
        .one(&state.db)
        .await?
        .is_some()
    {
        return Err(ApiError::Conflict(format!("account {} exists", b.account)));
    }
    let caller = auth.caller.clone();
    let view = state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let now = Utc::now();
                let s = subscriber::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    account: Set(b.account.clone()),
                    name: Set(b.name),
                    email: Set(b.email),
                    phone: Set(b.phone),
                    plan: Set(b.plan),
                    dedicated_agent: Set(agent),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(txn)
                .await?;
                audit_one(
                    txn,
                    &caller,
                    "subscriber.create",
                    "subscriber",
                    b.account,
                    serde_json::json!({ "plan": s.plan }),
                )
                .await?;
                subscriber_view(txn, &s).await
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberList {
    plan: Option<String>,
    limit: Option<u64>,
    offset: Option<u64>,
}

/// `GET /api/v1/subscribers?plan=&limit=&offset=`
pub async fn subscribers(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<SubscriberList>,
) -> ApiResult<HttpResponse> {
    let limit = super::limit(q.limit, 100, 1000)?;
    let mut sel = subscriber::Entity::find().order_by_asc(subscriber::Column::Account);
    if let Some(p) = &q.plan {
        sel = sel.filter(subscriber::Column::Plan.eq(p.clone()));
    }
    let total = sel.clone().count(&state.db).await?;
    let rows = sel
        .offset(q.offset.unwrap_or(0))
        .limit(limit)
        .all(&state.db)
        .await?;
    let mut items = Vec::new();
    for s in &rows {
        items.push(subscriber_view(&state.db, s).await?);
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({ "total": total, "items": items })))
}

/// `GET /api/v1/subscribers/{id or account}`
pub async fn subscriber(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let s = subscriber_by_ref(&state.db, &path).await?;
    Ok(HttpResponse::Ok().json(subscriber_view(&state.db, &s).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriberPatch {
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    plan: Option<String>,
    /// A support user's name, or null to remove.
    #[serde(default, deserialize_with = "super::present")]
    dedicated_agent: Option<Option<String>>,
}

/// `PATCH /api/v1/subscribers/{ref}` (support staff).
pub async fn update_subscriber(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SubscriberPatch>,
) -> ApiResult<HttpResponse> {
    let s = subscriber_by_ref(&state.db, &path).await?;
    let b = body.into_inner();
    if let Some(n) = &b.name {
        check_text("name", n, 200)?;
    }
    if let Some(e) = &b.email {
        check_text("email", e, 200)?;
    }
    if let Some(p) = &b.phone {
        check_text("phone", p, 64)?;
    }
    if let Some(p) = &b.plan {
        check_plan(&state.db, p).await?;
    }
    let agent = match &b.dedicated_agent {
        Some(Some(n)) => Some(Some(agent_id(&state.db, n).await?)),
        Some(None) => Some(None),
        None => None,
    };
    let caller = auth.caller.clone();
    let view = state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let account = s.account.clone();
                let mut m: subscriber::ActiveModel = s.into();
                if let Some(v) = b.name.clone() {
                    m.name = Set(v);
                }
                if let Some(v) = b.email.clone() {
                    m.email = Set(Some(v));
                }
                if let Some(v) = b.phone.clone() {
                    m.phone = Set(Some(v));
                }
                if let Some(v) = b.plan.clone() {
                    m.plan = Set(v);
                }
                if let Some(v) = agent {
                    m.dedicated_agent = Set(v);
                }
                m.updated_at = Set(Utc::now());
                let s = m.update(txn).await?;
                audit_one(
                    txn,
                    &caller,
                    "subscriber.update",
                    "subscriber",
                    account,
                    serde_json::json!({ "plan": b.plan, "dedicated_agent": b.dedicated_agent }),
                )
                .await?;
                subscriber_view(txn, &s).await
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// A device id or serial.
    device: String,
    /// When the subscriber started using it (default: now, unless already
    /// set).
    activated_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/subscribers/{ref}/devices` (support staff): links a box
/// to the subscriber.
pub async fn link_device(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<LinkBody>,
) -> ApiResult<HttpResponse> {
    let s = subscriber_by_ref(&state.db, &path).await?;
    let d = super::devices::find(&state, &body.device).await?;
    if d.subscriber_id.is_some_and(|other| other != s.id) {
        return Err(ApiError::Conflict(format!(
            "box {} belongs to another subscriber; unlink it first",
            d.serial
        )));
    }
    let caller = auth.caller.clone();
    let at = body.activated_at;
    let view = state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let serial = d.serial.clone();
                let mut m: device::ActiveModel = d.clone().into();
                m.subscriber_id = Set(Some(s.id));
                m.activated_at = Set(at.or(d.activated_at).or(Some(Utc::now())));
                m.update(txn).await?;
                audit_one(
                    txn,
                    &caller,
                    "subscriber.link",
                    "device",
                    serial,
                    serde_json::json!({ "subscriber": s.account }),
                )
                .await?;
                subscriber_view(txn, &s).await
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `DELETE /api/v1/subscribers/{ref}/devices/{device}` (support staff).
pub async fn unlink_device(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (sref, dref) = path.into_inner();
    let s = subscriber_by_ref(&state.db, &sref).await?;
    let d = super::devices::find(&state, &dref).await?;
    if d.subscriber_id != Some(s.id) {
        return Err(ApiError::NotFound(format!(
            "box {} is not linked to {}",
            d.serial, s.account
        )));
    }
    let caller = auth.caller.clone();
    state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let serial = d.serial.clone();
                let mut m: device::ActiveModel = d.into();
                m.subscriber_id = Set(None);
                m.update(txn).await?;
                audit_one(
                    txn,
                    &caller,
                    "subscriber.unlink",
                    "device",
                    serial,
                    serde_json::json!({ "subscriber": s.account }),
                )
                .await
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/subscribers/{ref}/tokens` (support staff): a subscriber
/// API token for the self-care portal or app acting for this subscriber,
/// shown once.
pub async fn create_token(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let s = subscriber_by_ref(&state.db, &path).await?;
    let secret = token::generate_in(Scheme::Subscriber);
    let caller = auth.caller.clone();
    let prefix = secret.prefix.clone();
    state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                subscriber_token::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    subscriber_id: Set(s.id),
                    prefix: Set(secret.prefix.clone()),
                    secret_hash: Set(secret.hash),
                    created_at: Set(Utc::now()),
                    revoked_at: Set(None),
                }
                .insert(txn)
                .await?;
                audit_one(
                    txn,
                    &caller,
                    "subscriber.token",
                    "subscriber",
                    s.account,
                    serde_json::json!({ "prefix": secret.prefix }),
                )
                .await
            })
        })
        .await?;
    Ok(HttpResponse::Created()
        .json(serde_json::json!({ "prefix": prefix, "token": secret.plaintext })))
}

// ---- support agents ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentBody {
    queues: Vec<TicketKind>,
    on_shift: bool,
}

/// `PUT /api/v1/support-agents/{user}` (support staff): which queues a
/// support user works and whether they are on shift now.
pub async fn put_agent(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<AgentBody>,
) -> ApiResult<HttpResponse> {
    let name = path.into_inner();
    let u = super::users::find_by_name(&state.db, &name).await?;
    works_tickets(&u, "user")?;
    let id = u.id;
    let caller = auth.caller.clone();
    let b = body.into_inner();
    state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                support_agent::Entity::insert(support_agent::ActiveModel {
                    user_id: Set(id),
                    queues: Set(tickets::json(&b.queues)?),
                    on_shift: Set(b.on_shift),
                    last_assigned_at: Set(None),
                })
                .on_conflict(
                    OnConflict::column(support_agent::Column::UserId)
                        .update_columns([
                            support_agent::Column::Queues,
                            support_agent::Column::OnShift,
                        ])
                        .to_owned(),
                )
                .exec(txn)
                .await?;
                audit_one(
                    txn,
                    &caller,
                    "agent.put",
                    "user",
                    name,
                    serde_json::json!({ "queues": b.queues, "on_shift": b.on_shift }),
                )
                .await
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/support-agents`
pub async fn agents(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let agents = support_agent::Entity::find().all(&state.db).await?;
    let mut out = Vec::new();
    for a in agents {
        let name = user::Entity::find_by_id(a.user_id)
            .one(&state.db)
            .await?
            .map(|u| u.name);
        out.push(serde_json::json!({
            "user": name, "queues": a.queues, "on_shift": a.on_shift,
            "last_assigned_at": a.last_assigned_at,
        }));
    }
    Ok(HttpResponse::Ok().json(out))
}

// ---- webhooks ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    url: String,
    /// Event names (`ticket.opened`, `ticket.sla_breached`, …) or `["*"]`.
    events: Vec<String>,
    /// The HMAC key; generated when not given.
    #[serde(default)]
    secret: Option<String>,
}

/// `POST /api/v1/webhooks` (admin): answers with the secret, once.
pub async fn create_webhook(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    body: web::Json<WebhookBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    check_url(&b.url).map_err(ApiError::Validation)?;
    if b.events.is_empty() || b.events.len() > 50 {
        return Err(ApiError::Validation(
            "events must name 1 to 50 events, or \"*\"".into(),
        ));
    }
    for e in &b.events {
        check_text("event", e, 64)?;
    }
    let secret = match b.secret {
        Some(s) if s.len() < 16 || s.len() > 200 => {
            return Err(ApiError::Validation(
                "secret must be 16 to 200 bytes".into(),
            ))
        }
        Some(s) => s,
        None => token::generate().plaintext,
    };
    let caller = auth.caller.clone();
    let id = Uuid::now_v7();
    let (url, events) = (b.url.clone(), b.events.clone());
    let s2 = secret.clone();
    state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                webhook::ActiveModel {
                    id: Set(id),
                    url: Set(url.clone()),
                    secret: Set(s2),
                    events: Set(tickets::json(&events)?),
                    active: Set(true),
                    created_at: Set(Utc::now()),
                }
                .insert(txn)
                .await?;
                audit_one(
                    txn,
                    &caller,
                    "webhook.create",
                    "webhook",
                    id.to_string(),
                    serde_json::json!({ "url": url, "events": events }),
                )
                .await
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "id": id, "url": b.url, "events": b.events, "active": true, "secret": secret,
    })))
}

/// `GET /api/v1/webhooks` (admin): endpoints with their pending and failed
/// deliveries.
pub async fn webhooks(
    _: Auth<access::Admin>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let all = webhook::Entity::find().all(&state.db).await?;
    let mut out = Vec::new();
    for w in all {
        use webhook_delivery::Column as C;
        let base = webhook_delivery::Entity::find().filter(C::WebhookId.eq(w.id));
        let pending = base
            .clone()
            .filter(C::DeliveredAt.is_null())
            .filter(C::FailedAt.is_null())
            .count(&state.db)
            .await?;
        let failed = base
            .clone()
            .filter(C::FailedAt.is_not_null())
            .count(&state.db)
            .await?;
        let delivered = base
            .filter(C::DeliveredAt.is_not_null())
            .count(&state.db)
            .await?;
        out.push(serde_json::json!({
            "id": w.id, "url": w.url, "events": w.events, "active": w.active,
            "created_at": w.created_at, "pending": pending, "failed": failed, "delivered": delivered,
        }));
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `DELETE /api/v1/webhooks/{id}` (admin).
pub async fn delete_webhook(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id =
        Uuid::parse_str(&path).map_err(|_| ApiError::NotFound(format!("no webhook {path}")))?;
    let caller = auth.caller.clone();
    state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let gone = webhook::Entity::delete_by_id(id).exec(txn).await?;
                if gone.rows_affected == 0 {
                    return Err(ApiError::NotFound(format!("no webhook {id}")));
                }
                audit_one(
                    txn,
                    &caller,
                    "webhook.delete",
                    "webhook",
                    id.to_string(),
                    serde_json::json!({}),
                )
                .await
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- reports ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    days: Option<u32>,
}

/// `GET /api/v1/reports/tickets?days=N` (default 30, at most 400).
pub async fn report(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ReportQuery>,
) -> ApiResult<HttpResponse> {
    let days = q.days.unwrap_or(30);
    if !(1..=400).contains(&days) {
        return Err(ApiError::Validation(
            "days must be between 1 and 400".into(),
        ));
    }
    Ok(HttpResponse::Ok().json(crate::aftersales::report(&state.db, days, Utc::now()).await?))
}
