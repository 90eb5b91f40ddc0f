//! `/api/v1/devices`: the fleet as operators see it: the list (filtered,
//! paged), accept, reject, decommission, region and tags, and import
//! pre-authorised serials
//! (CSV), over the operations in [`super::actions`] the console runs too.
//! A box's events and series are `fleet::telemetry::routes`; its page
//! (with warranty, subscriber, tickets) is `support::devices`.

use actix_web::{web, HttpResponse};

use super::{
    actions,
    csv::{refuse_length, CsvRows},
    rules::DeviceAction,
    store::{device_view, search, Count},
};
use crate::{
    fleet::views::{DevicePlacement, DeviceQuery},
    http::params::Counted,
    identity::auth::{access, Auth},
    platform::error::{Error, Result},
    state::AppState,
};

/// `GET /api/v1/devices?status=&model=&revision=&region=&tag=&installed=NAME[@VERSION]&online=&q=SERIAL-PREFIX&limit=&offset=`
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
