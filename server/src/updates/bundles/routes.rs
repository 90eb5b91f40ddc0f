//! `/api/v1/bundles`: upload (streamed and verified), list, show, and the
//! lifecycle actions publish, deprecate and revoke.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::{
    lifecycle,
    rules::BundleAction,
    store::{find, view_of},
    upload::{self, Outcome},
};
use crate::{
    identity::auth::{access, Auth},
    platform::error::{Error, Result},
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
    let limit = state.config.bundles.max_upload_bytes;
    if let Some(declared) = upload::declared_over(&req, limit) {
        return Err(Error::TooLarge(format!(
            "the upload declares {declared} bytes; the configured limit is {limit} bytes \
             (bundles.max_upload_bytes)"
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
    let views = super::store::list(
        &state.db,
        q.kind.as_deref(),
        q.name.as_deref(),
        q.state.as_deref(),
    )
    .await?;
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
    let updated = lifecycle::act(&state, &auth, &reference, action, reason).await?;
    Ok(HttpResponse::Ok().json(view_of(&state.db, updated).await?))
}
