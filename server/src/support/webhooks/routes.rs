//! `/api/v1/webhooks` (admins): endpoints an outside helpdesk runs, with
//! the events they subscribed to and their delivery counts.

use crate::identity::caller::Caller;
use actix_web::{web, HttpResponse};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde::Serialize;
use uuid::Uuid;

use super::rules::{check_events, check_url};
use crate::support::views::WebhookBody;
use crate::{
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
        tokens::rules as token,
    },
    platform::{
        entities::{webhook, webhook_delivery},
        error::{Error, Result},
        json::{from_json, to_json},
    },
    state::AppState,
    support::views::{WebhookCreated, WebhookView},
};

/// What the audit log keeps of a new endpoint (never its secret).
#[derive(Debug, Serialize)]
struct Subscribed<'a> {
    url: &'a str,
    events: &'a [String],
}

/// `POST /api/v1/webhooks` (admin): answers with the secret, once.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "support",
    request_body = WebhookBody,
    security(("operator" = [])),
    responses(
        (status = 201, description = "The endpoint, with its secret (shown only this once)", body = WebhookCreated),
    )
)]
pub async fn create(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    body: web::Json<WebhookBody>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Created().json(add(&state, &auth, body.into_inner()).await?))
}

/// Adds an endpoint as `caller`; its secret is in the answer, once.
pub async fn add(state: &AppState, caller: &Caller, b: WebhookBody) -> Result<WebhookCreated> {
    check_url(&b.url).map_err(Error::Validation)?;
    check_events(&b.events).map_err(Error::Validation)?;
    let secret = match b.secret {
        Some(s) if s.len() < 16 || s.len() > 200 => {
            return Err(Error::Validation("secret must be 16 to 200 bytes".into()))
        }
        Some(s) => s,
        None => token::generate().plaintext,
    };
    let id = Uuid::now_v7();
    let created = WebhookCreated {
        id,
        url: b.url,
        events: b.events,
        active: true,
        secret,
    };
    let now = state.clock.now();
    let row = webhook::ActiveModel {
        id: Set(id),
        url: Set(created.url.clone()),
        secret: Set(created.secret.clone()),
        events: Set(to_json(&created.events)?),
        active: Set(true),
        created_at: Set(now),
    };
    let entry = Entry::new("webhook.create", "webhook", id.to_string()).details(&Subscribed {
        url: &created.url,
        events: &created.events,
    });
    audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            row.insert(txn).await?;
            Ok(((), entry))
        })
    })
    .await?;
    Ok(created)
}

/// `GET /api/v1/webhooks` (admin): endpoints with their pending, failed
/// and delivered deliveries.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "support",
    security(("operator" = [])),
    responses(
        (status = 200, description = "Every endpoint with its delivery counts", body = Vec<WebhookView>),
    )
)]
pub async fn list(_: Auth<access::Admin>, state: web::Data<AppState>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(endpoints(&state.db).await?))
}

/// Every endpoint with its pending, failed and delivered deliveries.
pub async fn endpoints(db: &impl sea_orm::ConnectionTrait) -> Result<Vec<WebhookView>> {
    let all = webhook::Entity::find().all(db).await?;
    let mut out = Vec::new();
    for w in all {
        use webhook_delivery::Column as C;
        let base = webhook_delivery::Entity::find().filter(C::WebhookId.eq(w.id));
        let pending = base
            .clone()
            .filter(C::DeliveredAt.is_null())
            .filter(C::FailedAt.is_null())
            .count(db)
            .await?;
        let failed = base
            .clone()
            .filter(C::FailedAt.is_not_null())
            .count(db)
            .await?;
        let delivered = base.filter(C::DeliveredAt.is_not_null()).count(db).await?;
        out.push(WebhookView {
            id: w.id,
            url: w.url,
            events: from_json(&w.events, "webhook events")?,
            active: w.active,
            created_at: w.created_at,
            pending,
            failed,
            delivered,
        });
    }
    Ok(out)
}

/// `DELETE /api/v1/webhooks/{id}` (admin).
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{id}",
    tag = "support",
    params(("id" = String, Path, description = "The endpoint's id")),
    security(("operator" = [])),
    responses(
        (status = 204, description = "The endpoint was removed"),
    )
)]
pub async fn delete(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    remove(&state, &auth, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes endpoint `path` (its id) as `caller`.
pub async fn remove(state: &AppState, caller: &Caller, path: &str) -> Result<()> {
    let id = Uuid::parse_str(path).map_err(|_| Error::NotFound(format!("no webhook {path}")))?;
    audited(&state.db, caller, state.clock.now(), move |txn| {
        Box::pin(async move {
            let gone = webhook::Entity::delete_by_id(id).exec(txn).await?;
            if gone.rows_affected == 0 {
                return Err(Error::NotFound(format!("no webhook {id}")));
            }
            Ok(((), Entry::new("webhook.delete", "webhook", id.to_string())))
        })
    })
    .await
}
