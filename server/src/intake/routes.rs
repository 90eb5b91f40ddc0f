//! `POST /api/v1/device/events`: a box's batch of health reports and
//! faults over HTTPS, into the same pipeline as MQTT's.

use actix_web::{web, HttpResponse};
use wavecast_protocol::{
    events::{EventBatch, EventsAccepted},
    Problem,
};

use super::store::Incoming;
use crate::{
    fleet::devices::auth::DeviceAuth,
    platform::error::{Error, Result},
    state::AppState,
};

/// Largest event batch body, in bytes (for this route in place of
/// `http.json_limit`): a full batch of 500 events fits unless most of them
/// are faults with kilobytes of details.
pub const EVENTS_BODY_LIMIT: usize = 1 << 20;

/// `POST /api/v1/device/events`: a batch of health reports and faults.
/// Events whose id the box already sent count as duplicates and are not
/// stored again; one invalid event refuses the whole batch (422). A box
/// over its rate gets 429, and a full event queue 503, both with
/// `Retry-After`: the box keeps its events and sends them later.
#[utoipa::path(
    post,
    path = "/api/v1/device/events",
    tag = "device",
    request_body = EventBatch,
    security(("device" = [])),
    responses(
        (status = 200, description = "The batch is stored: how many events were new and how many \
                                      the server already held",
         body = EventsAccepted),
        (status = 429, description = "The box sends faster than its rate: it keeps its events and \
                                      retries after Retry-After seconds",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u32, description = "Seconds to wait before sending again"))),
        (status = 503, description = "The server is busy storing events: the box keeps them and \
                                      retries after Retry-After seconds",
         body = Problem, content_type = "application/problem+json",
         headers(("Retry-After" = u32, description = "Seconds to wait before sending again"))),
    )
)]
pub async fn events(
    auth: DeviceAuth,
    state: web::Data<AppState>,
    body: web::Json<EventBatch>,
) -> Result<HttpResponse> {
    let batch = body.into_inner();
    batch.validate().map_err(Error::Validation)?;
    state.presence.touch(auth.device.id);
    let stored = state
        .pipeline
        .store(Incoming {
            device_id: auth.device.id,
            model: auth.device.model.clone(),
            batch,
        })
        .await?;
    Ok(HttpResponse::Ok().json(stored.answer))
}
