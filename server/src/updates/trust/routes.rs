//! `/api/v1/keyring`: the trusted keyring (read), and publishing a new one.

use actix_web::{web, HttpResponse};

use super::{rules::check_online_key, store as trust};
use crate::{
    identity::auth::{access, Auth},
    platform::error::{Error, Result},
    state::AppState,
    updates::views::PublishKeyring,
};

/// `GET /api/v1/keyring`
pub async fn show(_: Auth<access::Viewer>, state: web::Data<AppState>) -> Result<HttpResponse> {
    let view = trust::load(&state.db)
        .await?
        .as_ref()
        .and_then(trust::view)
        .ok_or_else(|| Error::NotFound("no keyring has been published yet".into()))?;
    Ok(HttpResponse::Ok().json(view))
}

/// `PUT /api/v1/keyring` (admins: this changes what the fleet trusts).
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
