//! `GET /api/v1/fleet/summary`: the fleet at a glance, for operators and
//! support staff: boxes online, versions by model, and fault rates per
//! 1,000 device-days by model and firmware version.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::{
    fleet::views::FleetSummary,
    identity::auth::{access, Auth},
    platform::error::{Error, Result},
    state::AppState,
};

/// The query of `GET /api/v1/fleet/summary`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    /// Days the fault rates cover: 1 to 400, 7 by default.
    days: Option<u32>,
}

/// `GET /api/v1/fleet/summary?days=N` (7 by default, at most 400).
#[utoipa::path(
    get,
    path = "/api/v1/fleet/summary",
    tag = "fleet",
    params(SummaryQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "Boxes online, versions by model and fault rates", body = FleetSummary),
    )
)]
pub async fn summary(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<SummaryQuery>,
) -> Result<HttpResponse> {
    let days = q.days.unwrap_or(7);
    if !(1..=400).contains(&days) {
        return Err(Error::Validation("days must be 1 to 400".into()));
    }
    let s =
        super::store::summary(&state.db, days, state.clock.now(), &state.config.telemetry).await?;
    Ok(HttpResponse::Ok().json(s))
}
