//! `POST /api/v1/device/status`: a box reports how an install it was
//! offered is going.

use actix_web::{web, HttpResponse};
use wavecast_protocol::status::StatusReport;

use crate::{fleet::devices::auth::DeviceAuth, platform::error::Result, state::AppState};

/// `POST /api/v1/device/status`: an install status report. Idempotent and
/// safe out of order; impossible transitions are refused (409). A device can
/// only report on a bundle a rollout offered it (or could have, before a pause).
pub async fn status(
    auth: DeviceAuth,
    state: web::Data<AppState>,
    body: web::Json<StatusReport>,
) -> Result<HttpResponse> {
    state.presence.touch(auth.device.id);
    super::store::apply(
        &state.db,
        &auth.device,
        body.into_inner(),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
