//! `/api/v1/devices`: the fleet as operators see it: the list (filtered,
//! paged), accept, reject, decommission, region and tags, and import
//! pre-authorised serials
//! (CSV), over the operations in [`super::actions`] the console runs too.
//! A box's events and series are `fleet::telemetry::routes`; its page
//! (with warranty, subscriber, tickets) is `support::devices`.

use actix_web::{web, HttpResponse};
use wavecast_protocol::Problem;

use super::{
    actions,
    csv::{refuse_length, CsvRows},
    rules::DeviceAction,
    store::{device_view, search, Count},
};
use crate::{
    fleet::views::{DevicePlacement, DeviceQuery, DeviceView, ImportResult},
    http::params::Counted,
    identity::auth::{access, Auth},
    platform::error::{Error, Result},
    state::AppState,
};

/// `GET /api/v1/devices?status=&model=&revision=&region=&tag=&installed=NAME[@VERSION]&online=&q=SERIAL-PREFIX&limit=&offset=`
#[utoipa::path(
    get,
    path = "/api/v1/devices",
    tag = "fleet",
    params(DeviceQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "A page of the devices that match, by serial, and how many match", body = Counted<DeviceView>),
    )
)]
pub async fn list(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<DeviceQuery>,
) -> Result<HttpResponse> {
    let (total, rows) = search(
        &state.db,
        &q,
        state.clock.now(),
        state.config.telemetry.online_secs,
        Count::All,
    )
    .await?;
    let items = rows.into_iter().map(device_view).collect();
    Ok(HttpResponse::Ok().json(Counted { total, items }))
}

/// `PATCH /api/v1/devices/{ref}`: region and tags.
#[utoipa::path(
    patch,
    path = "/api/v1/devices/{reference}",
    tag = "fleet",
    params(("reference" = String, Path, description = "The device's id (a UUID) or its serial")),
    request_body = DevicePlacement,
    security(("operator" = [])),
    responses(
        (status = 200, description = "The device with its region and tags", body = DeviceView),
    )
)]
pub async fn place(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<DevicePlacement>,
) -> Result<HttpResponse> {
    let d = actions::place(&state, &auth, &path, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(device_view(d)))
}

/// `POST /api/v1/devices/{ref}/{accept|reject|decommission}`
#[utoipa::path(
    post,
    path = "/api/v1/devices/{reference}/{action}",
    tag = "fleet",
    params(
        ("reference" = String, Path, description = "The device's id (a UUID) or its serial"),
        ("action" = String, Path, description = "accept, reject or decommission"),
    ),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The device after the action", body = DeviceView),
        (status = 409, description = "Not allowed in the device's status (only pending devices are accepted or rejected)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn act(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (reference, action) = path.into_inner();
    let action: DeviceAction = action.parse().map_err(Error::NotFound)?;
    let d = actions::act(&state, &auth, &reference, action).await?;
    Ok(HttpResponse::Ok().json(device_view(d)))
}

/// `POST /api/v1/devices/import`: a CSV from manufacturing, `serial[,model]`
/// a line (a header line naming `serial` is skipped). Pending devices whose
/// serial appears are accepted. All or nothing: one bad line refuses the
/// file, answered as soon as it arrives (the body is read as it comes, up
/// to [`super::csv::MAX_IMPORT_BYTES`]).
#[utoipa::path(
    post,
    path = "/api/v1/devices/import",
    tag = "fleet",
    request_body(
        description = "A manufacturing list in UTF-8: `serial[,model]` a line, an optional header line naming `serial` first. Read whatever its media type.",
        content(
            (String = "text/csv"),
            (String = "text/plain"),
            (String = "application/octet-stream"),
        ),
    ),
    security(("operator" = [])),
    responses(
        (status = 200, description = "What the import added and accepted", body = ImportResult),
        (status = 409, description = "Another import added one of the serials at the same time; send the list again", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn import(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    mut body: web::Payload,
) -> Result<HttpResponse> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok());
    refuse_length(declared)?;
    let mut csv = CsvRows::default();
    while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
        let chunk =
            chunk.map_err(|e| Error::BadRequest(format!("the body could not be read: {e}")))?;
        csv.feed(&chunk)?;
    }
    let rows = csv.finish()?;
    Ok(HttpResponse::Ok().json(actions::import(&state, &auth, rows).await?))
}
