//! `POST /api/v1/device/status`: a box reports how an install it was
//! offered is going.

use actix_web::{web, HttpResponse};
use wavecast_protocol::{status::StatusReport, Problem};

use crate::{fleet::devices::auth::DeviceAuth, platform::error::Result, state::AppState};

/// `POST /api/v1/device/status`: an install status report. Idempotent and
/// safe out of order; impossible transitions are refused (409). A device can
/// only report on a bundle a rollout offered it (or could have, before a pause).
#[utoipa::path(
    post,
    path = "/api/v1/device/status",
    tag = "device",
    request_body = StatusReport,
    security(("device" = [])),
    responses(
        (status = 204, description = "The report is applied (or was already)"),
        (status = 404, description = "No rollout offered this bundle to this box",
         body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The reported state cannot follow the install's current one",
         body = Problem, content_type = "application/problem+json"),
    )
)]
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
