//! `/api/v1/keyring`: the trusted keyring (read), and publishing a new one.

use actix_web::{web, HttpResponse};

use super::store as trust;
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
    let view = trust::publish(&state.db, &auth, body.into_inner(), state.clock.now()).await;
    state.caches.anchors.invalidate();
    Ok(HttpResponse::Ok().json(view?))
}
