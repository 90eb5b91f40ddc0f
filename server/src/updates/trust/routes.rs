//! `/api/v1/keyring`: the trusted keyring (read), and publishing a new one.

use actix_web::{web, HttpResponse};
use wavecast_protocol::Problem;

use super::{rules::check_online_key, store as trust};
use crate::{
    identity::auth::{access, Auth},
    platform::error::{Error, Result},
    state::AppState,
    updates::views::{KeyringView, PublishKeyring},
};

/// `GET /api/v1/keyring`
#[utoipa::path(
    get,
    path = "/api/v1/keyring",
    tag = "updates",
    security(("operator" = [])),
    responses(
        (status = 200, description = "The keyring the server trusts now", body = KeyringView),
        (status = 404, description = "No keyring has been published yet",
         body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn show(_: Auth<access::Viewer>, state: web::Data<AppState>) -> Result<HttpResponse> {
    let view = trust::load(&state.db)
        .await?
        .as_ref()
        .and_then(trust::view)
        .ok_or_else(|| Error::NotFound("no keyring has been published yet".into()))?;
    Ok(HttpResponse::Ok().json(view))
}

/// `PUT /api/v1/keyring` (admins: this changes what the fleet trusts).
#[utoipa::path(
    put,
    path = "/api/v1/keyring",
    tag = "updates",
    request_body = PublishKeyring,
    security(("operator" = [])),
    responses(
        (status = 200, description = "The keyring the server trusts now", body = KeyringView),
        (status = 409, description = "Another root key is pinned, the keyring is older than the \
                                      current one or differs from it at the same version, or it \
                                      lets the server's online check-in key sign bundles",
         body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn publish(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    body: web::Json<PublishKeyring>,
) -> Result<HttpResponse> {
    let req = body.into_inner();
    if let Some(online) = state.online_key.get() {
        let root = wavecast_protocol::keys::parse_public_key(&req.root_public_key)
            .map_err(Error::Validation)?;
        let kr = wavecast_protocol::keyring::open_keyring(&root, &req.keyring)
            .map_err(|e| Error::Validation(format!("keyring refused: {e}")))?;
        let allowed = state.config.signing.allow_online_bundle_roles;
        check_online_key(&kr, &online.keyid, allowed).map_err(Error::Conflict)?;
    }
    let view = trust::publish(&state.db, &auth, req, state.clock.now()).await;
    state.caches.anchors.invalidate();
    Ok(HttpResponse::Ok().json(view?))
}
