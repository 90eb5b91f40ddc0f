//! `/api/v1/bundles`: upload (streamed and verified), list, show, and the
//! lifecycle actions publish, deprecate and revoke.

use actix_web::{web, HttpRequest, HttpResponse};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Deserialize;

use super::{
    rules::{BundleAction, BundleState},
    store::{bundle_view, find, view_of},
    upload::{self, Outcome},
};
use crate::{
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
    },
    platform::{
        entities::{bundle, bundle_artifact, columns::Stored},
        error::{Error, Result},
    },
    state::AppState,
    updates::views::BundleActionRequest,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// `server` to have the server sign the manifest with its online key.
    sign: Option<String>,
}

/// `POST /api/v1/bundles`: the body is a bundle file (application/octet-stream).
pub async fn upload(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let sign_on_server = match query.sign.as_deref() {
        None => false,
        Some("server") => true,
        Some(other) => {
            return Err(Error::Validation(format!(
                "sign={other:?} is not understood; the only value is \"server\""
            )))
        }
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = state.config.bundles.max_upload_bytes;
    if declared.is_some_and(|len| len > limit) {
        return Err(Error::TooLarge(format!(
            "the upload declares {} bytes; the configured limit is {limit} bytes \
             (bundles.max_upload_bytes)",
            declared.unwrap_or_default()
        )));
    }
    match upload::upload(&state, &auth, payload, sign_on_server).await? {
        Outcome::Created(b) => Ok(HttpResponse::Created().json(view_of(&state.db, b).await?)),
        Outcome::Existing(b) => Ok(HttpResponse::Ok().json(view_of(&state.db, b).await?)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    kind: Option<String>,
    name: Option<String>,
    state: Option<String>,
}

/// `GET /api/v1/bundles`
pub async fn list(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let mut select = bundle::Entity::find()
        .find_with_related(bundle_artifact::Entity)
        .order_by_asc(bundle::Column::Name)
        .order_by_desc(bundle::Column::CreatedAt);
    if let Some(kind) = &q.kind {
        let kind: Stored<wavecast_protocol::manifest::Kind> =
            kind.parse().map_err(Error::Validation)?;
        select = select.filter(bundle::Column::Kind.eq(kind));
    }
    if let Some(name) = &q.name {
        select = select.filter(bundle::Column::Name.eq(name));
    }
    if let Some(s) = &q.state {
        let s: BundleState = s.parse().map_err(Error::Validation)?;
        select = select.filter(bundle::Column::State.eq(s));
    }
    let views = select
        .all(&state.db)
        .await?
        .into_iter()
        .map(|(b, a)| bundle_view(b, a))
        .collect::<Result<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(views))
}

/// `GET /api/v1/bundles/{id or name@version}`
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    reference: web::Path<String>,
) -> Result<HttpResponse> {
    let b = find(&state.db, &reference).await?;
    Ok(HttpResponse::Ok().json(view_of(&state.db, b).await?))
}

/// `GET /api/v1/bundles/{ref}/manifest`: the signed manifest envelope.
pub async fn manifest(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    reference: web::Path<String>,
) -> Result<HttpResponse> {
    let b = find(&state.db, &reference).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(b.manifest_envelope))
}

/// `POST /api/v1/bundles/{ref}/{action}`
pub async fn act(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Option<web::Json<BundleActionRequest>>,
) -> Result<HttpResponse> {
    let (reference, action_name) = path.into_inner();
    let action: BundleAction = action_name.parse().map_err(Error::NotFound)?;
    let reason = body.and_then(|b| b.into_inner().reason);
    let b = find(&state.db, &reference).await?;
    let from = b.state;
    let to = from.apply(action).map_err(Error::Conflict)?;
    let updated = if from == to {
        b
    } else {
        let now = state.clock.now();
        audited(&state.db, &auth, now, move |txn| {
            Box::pin(async move {
                let label = format!("{}@{}", b.name, b.version);
                let mut model: bundle::ActiveModel = b.into();
                model.state = Set(to);
                model.updated_at = Set(now);
                let model = model.update(txn).await?;
                let entry = Entry::new(action.audit_action(), "bundle", label)
                    .details(&StateChange { from, to, reason });
                Ok((model, entry))
            })
        })
        .await?
    };
    // A revoked bundle is never offered again: check-ins must see it now.
    state.caches.offering.invalidate();
    Ok(HttpResponse::Ok().json(view_of(&state.db, updated).await?))
}

/// What the audit log keeps of a lifecycle change.
#[derive(Debug, serde::Serialize)]
struct StateChange {
    from: BundleState,
    to: BundleState,
    reason: Option<String>,
}
