//! `/api/v1/subscribers` (support staff write, every role reads): the
//! people boxes belong to, their plan and dedicated agent, linking and
//! unlinking their boxes (their open tickets follow: `tickets::follow`),
//! and issuing tokens for the subscriber API.

use actix_web::{web, HttpResponse};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wavecast_protocol::Problem;

use super::store::{agent_id, check_plan, search, subscriber_by_ref, subscriber_view};
use crate::support::views::{LinkBody, SubscriberBody, SubscriberPatch};
use crate::{
    fleet::devices::store as devices,
    http::params::{checked, limit, Counted},
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
        caller::Caller,
        roles::Role,
        tokens::rules::{self as token, Scheme},
    },
    platform::{
        entities::{device, subscriber, subscriber_token},
        error::{Error, Result},
        text::Line,
    },
    state::AppState,
    support::{
        tickets::follow,
        views::{SubscriberTokenCreated, SubscriberView},
    },
};

/// An email address as the record keeps it: a checked line with an `@`.
fn email(e: &str) -> Result<String> {
    let e = checked(Line::parse("email", e, 200))?.into_string();
    if !e.contains('@') {
        return Err(Error::Validation("email must be an email address".into()));
    }
    Ok(e)
}

fn phone(p: &str) -> Result<String> {
    Ok(checked(Line::parse("phone", p, 64))?.into_string())
}

/// What the audit log keeps of a subscriber change.
#[derive(Debug, Serialize)]
struct PlanChange<'a> {
    plan: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dedicated_agent: Option<&'a Option<String>>,
}

/// `POST /api/v1/subscribers` (support staff).
#[utoipa::path(
    post,
    path = "/api/v1/subscribers",
    tag = "support",
    request_body = SubscriberBody,
    security(("operator" = [])),
    responses(
        (status = 201, description = "The new subscriber", body = SubscriberView),
        (status = 409, description = "The account number is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    body: web::Json<SubscriberBody>,
) -> Result<HttpResponse> {
    let view = create_subscriber(&state, &auth, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Records the subscriber `b` describes for `caller` (support staff),
/// audited.
pub async fn create_subscriber(
    state: &AppState,
    caller: &Caller,
    b: SubscriberBody,
) -> Result<SubscriberView> {
    caller.demand(Role::Support)?;
    let account = checked(Line::parse("account", &b.account, 64))?.into_string();
    let name = checked(Line::parse("name", &b.name, 200))?.into_string();
    let email = b.email.as_deref().map(email).transpose()?;
    let phone = b.phone.as_deref().map(phone).transpose()?;
    check_plan(&state.db, &b.plan).await?;
    let agent = match &b.dedicated_agent {
        Some(n) => Some(agent_id(&state.db, n).await?),
        None => None,
    };
    if subscriber::Entity::find()
        .filter(subscriber::Column::Account.eq(account.clone()))
        .one(&state.db)
        .await?
        .is_some()
    {
        return Err(Error::Conflict(format!("account {account} exists")));
    }
    let now = state.clock.now();
    audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            let s = subscriber::ActiveModel {
                id: Set(Uuid::now_v7()),
                account: Set(account.clone()),
                name: Set(name),
                email: Set(email),
                phone: Set(phone),
                plan: Set(b.plan),
                dedicated_agent: Set(agent),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(txn)
            .await?;
            let entry =
                Entry::new("subscriber.create", "subscriber", account).details(&PlanChange {
                    plan: Some(&s.plan),
                    dedicated_agent: None,
                });
            Ok((subscriber_view(txn, &s).await?, entry))
        })
    })
    .await
}

/// The query of `GET /api/v1/subscribers`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SubscriberList {
    /// Part of an account, name, email or phone number.
    q: Option<String>,
    /// A plan key.
    plan: Option<String>,
    /// How many to list, 1 to 1000 (default 100).
    limit: Option<u64>,
    /// How many to skip (default 0).
    offset: Option<u64>,
}

/// `GET /api/v1/subscribers?q=&plan=&limit=&offset=`
#[utoipa::path(
    get,
    path = "/api/v1/subscribers",
    tag = "support",
    params(SubscriberList),
    security(("operator" = [])),
    responses(
        (status = 200, description = "A page of the matching subscribers, in account order, and how many match", body = Counted<SubscriberView>),
    )
)]
pub async fn list(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<SubscriberList>,
) -> Result<HttpResponse> {
    let limit = limit(q.limit, 100, 1000)?;
    let (total, rows) = search(
        &state.db,
        q.q.as_deref(),
        q.plan.as_deref(),
        q.offset.unwrap_or(0),
        limit,
    )
    .await?;
    let mut items = Vec::new();
    for s in &rows {
        items.push(subscriber_view(&state.db, s).await?);
    }
    Ok(HttpResponse::Ok().json(Counted { total, items }))
}

/// `GET /api/v1/subscribers/{id or account}`
#[utoipa::path(
    get,
    path = "/api/v1/subscribers/{reference}",
    tag = "support",
    params(("reference" = String, Path, description = "Subscriber id or account number")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The subscriber and their boxes", body = SubscriberView),
    )
)]
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let s = subscriber_by_ref(&state.db, &path).await?;
    Ok(HttpResponse::Ok().json(subscriber_view(&state.db, &s).await?))
}

/// `PATCH /api/v1/subscribers/{ref}` (support staff).
#[utoipa::path(
    patch,
    path = "/api/v1/subscribers/{reference}",
    tag = "support",
    params(("reference" = String, Path, description = "Subscriber id or account number")),
    request_body = SubscriberPatch,
    security(("operator" = [])),
    responses(
        (status = 200, description = "The subscriber after the change", body = SubscriberView),
    )
)]
pub async fn update(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SubscriberPatch>,
) -> Result<HttpResponse> {
    let view = update_subscriber(&state, &auth, &path, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Changes subscriber `r` as `b` says for `caller` (support staff),
/// audited; their open tickets follow a new plan or dedicated agent.
pub async fn update_subscriber(
    state: &AppState,
    caller: &Caller,
    r: &str,
    b: SubscriberPatch,
) -> Result<SubscriberView> {
    caller.demand(Role::Support)?;
    let s = subscriber_by_ref(&state.db, r).await?;
    let name = b
        .name
        .as_deref()
        .map(|n| checked(Line::parse("name", n, 200)).map(Line::into_string))
        .transpose()?;
    let email = b.email.as_deref().map(email).transpose()?;
    let phone = b.phone.as_deref().map(phone).transpose()?;
    if let Some(p) = &b.plan {
        check_plan(&state.db, p).await?;
    }
    let agent = match &b.dedicated_agent {
        Some(Some(n)) => Some(Some(agent_id(&state.db, n).await?)),
        Some(None) => Some(None),
        None => None,
    };
    let now = state.clock.now();
    let author = caller.name.clone();
    audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            let account = s.account.clone();
            let (old_plan, old_agent) = (s.plan.clone(), s.dedicated_agent);
            let mut m: subscriber::ActiveModel = s.into();
            if let Some(v) = name {
                m.name = Set(v);
            }
            if let Some(v) = email {
                m.email = Set(Some(v));
            }
            if let Some(v) = phone {
                m.phone = Set(Some(v));
            }
            if let Some(v) = b.plan.clone() {
                m.plan = Set(v);
            }
            if let Some(v) = agent {
                m.dedicated_agent = Set(v);
            }
            m.updated_at = Set(now);
            let s = m.update(txn).await?;
            if s.plan != old_plan || s.dedicated_agent != old_agent {
                let why = format!("subscriber {} changed plan or dedicated agent", s.account);
                follow::follow_subscriber(txn, &s, old_agent, &why, &author, now).await?;
            }
            let entry =
                Entry::new("subscriber.update", "subscriber", account).details(&PlanChange {
                    plan: b.plan.as_deref(),
                    dedicated_agent: Some(&b.dedicated_agent.clone().flatten()),
                });
            Ok((subscriber_view(txn, &s).await?, entry))
        })
    })
    .await
}

/// The audit log's record of a link or unlink.
#[derive(Debug, Serialize)]
struct Link {
    subscriber: String,
}

/// `POST /api/v1/subscribers/{ref}/devices` (support staff): links a box
/// to the subscriber.
#[utoipa::path(
    post,
    path = "/api/v1/subscribers/{reference}/devices",
    tag = "support",
    params(("reference" = String, Path, description = "Subscriber id or account number")),
    request_body = LinkBody,
    security(("operator" = [])),
    responses(
        (status = 200, description = "The subscriber with the box linked", body = SubscriberView),
        (status = 409, description = "The box belongs to another subscriber", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn link_device(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<LinkBody>,
) -> Result<HttpResponse> {
    let view = link_box(&state, &auth, &path, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Links the box `b` names to subscriber `r` for `caller` (support
/// staff), audited; the box's open tickets follow it.
pub async fn link_box(
    state: &AppState,
    caller: &Caller,
    r: &str,
    b: LinkBody,
) -> Result<SubscriberView> {
    caller.demand(Role::Support)?;
    let s = subscriber_by_ref(&state.db, r).await?;
    let d = devices::find(&state.db, &b.device).await?;
    if d.subscriber_id.is_some_and(|other| other != s.id) {
        return Err(Error::Conflict(format!(
            "box {} belongs to another subscriber; unlink it first",
            d.serial
        )));
    }
    let at = b.activated_at;
    let now = state.clock.now();
    let author = caller.name.clone();
    audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            let serial = d.serial.clone();
            let mut m: device::ActiveModel = d.clone().into();
            m.subscriber_id = Set(Some(s.id));
            m.activated_at = Set(at.or(d.activated_at).or(Some(now)));
            m.update(txn).await?;
            let why = format!("box {serial} linked to subscriber {}", s.account);
            follow::follow_box(txn, d.id, Some(&s), &why, &author, now).await?;
            let entry = Entry::new("subscriber.link", "device", serial).details(&Link {
                subscriber: s.account.clone(),
            });
            Ok((subscriber_view(txn, &s).await?, entry))
        })
    })
    .await
}

/// `DELETE /api/v1/subscribers/{ref}/devices/{device}` (support staff).
#[utoipa::path(
    delete,
    path = "/api/v1/subscribers/{reference}/devices/{device}",
    tag = "support",
    params(
        ("reference" = String, Path, description = "Subscriber id or account number"),
        ("device" = String, Path, description = "Device id or serial (linked to the subscriber)"),
    ),
    security(("operator" = [])),
    responses(
        (status = 204, description = "The box is no longer the subscriber's"),
    )
)]
pub async fn unlink_device(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (sref, dref) = path.into_inner();
    unlink_box(&state, &auth, &sref, &dref).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Unlinks box `dref` from subscriber `sref` for `caller` (support
/// staff), audited; the box's open tickets leave the subscriber.
pub async fn unlink_box(state: &AppState, caller: &Caller, sref: &str, dref: &str) -> Result<()> {
    caller.demand(Role::Support)?;
    let s = subscriber_by_ref(&state.db, sref).await?;
    let d = devices::find(&state.db, dref).await?;
    if d.subscriber_id != Some(s.id) {
        return Err(Error::NotFound(format!(
            "box {} is not linked to {}",
            d.serial, s.account
        )));
    }
    let now = state.clock.now();
    let author = caller.name.clone();
    audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            let serial = d.serial.clone();
            let device_id = d.id;
            let mut m: device::ActiveModel = d.into();
            m.subscriber_id = Set(None);
            m.update(txn).await?;
            let why = format!("box {serial} unlinked from subscriber {}", s.account);
            follow::follow_box(txn, device_id, None, &why, &author, now).await?;
            let entry = Entry::new("subscriber.unlink", "device", serial).details(&Link {
                subscriber: s.account,
            });
            Ok(((), entry))
        })
    })
    .await
}

/// The audit log's record of a new subscriber token.
#[derive(Debug, Serialize)]
struct TokenIssued {
    prefix: String,
}

/// `POST /api/v1/subscribers/{ref}/tokens` (support staff): a subscriber
/// API token for the self-care portal or app acting for this subscriber,
/// shown once.
#[utoipa::path(
    post,
    path = "/api/v1/subscribers/{reference}/tokens",
    tag = "support",
    params(("reference" = String, Path, description = "Subscriber id or account number")),
    security(("operator" = [])),
    responses(
        (status = 201, description = "The new subscriber token; its secret is shown only here", body = SubscriberTokenCreated),
    )
)]
pub async fn create_token(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let created = issue_token(&state, &auth, &path).await?;
    Ok(HttpResponse::Created().json(created))
}

/// A new subscriber API token for subscriber `r`, issued by `caller`
/// (support staff), audited; its secret exists only in the answer.
pub async fn issue_token(
    state: &AppState,
    caller: &Caller,
    r: &str,
) -> Result<SubscriberTokenCreated> {
    caller.demand(Role::Support)?;
    let s = subscriber_by_ref(&state.db, r).await?;
    let secret = token::generate_in(Scheme::Subscriber);
    let created = SubscriberTokenCreated {
        prefix: secret.prefix.clone(),
        token: secret.plaintext.clone(),
    };
    let now = state.clock.now();
    audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            subscriber_token::ActiveModel {
                id: Set(Uuid::now_v7()),
                subscriber_id: Set(s.id),
                prefix: Set(secret.prefix.clone()),
                secret_hash: Set(secret.hash),
                created_at: Set(now),
                revoked_at: Set(None),
            }
            .insert(txn)
            .await?;
            let entry =
                Entry::new("subscriber.token", "subscriber", s.account).details(&TokenIssued {
                    prefix: secret.prefix,
                });
            Ok(((), entry))
        })
    })
    .await?;
    Ok(created)
}
