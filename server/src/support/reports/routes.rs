//! `GET /api/v1/reports/tickets?days=N`: the ticket report.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::store::{report, Report};
use crate::{
    identity::auth::{access, Auth},
    platform::error::{Error, Result},
    state::AppState,
};

/// `GET /api/v1/reports/tickets`: the report's period.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// Days back from now: 1 to 400, 30 unless given.
    days: Option<u32>,
}

/// The report's period in days: 30 unless asked, from 1 to 400 (the API
/// and the console's report page).
pub fn period(asked: Option<u32>) -> Result<u32> {
    let days = asked.unwrap_or(30);
    if (1..=400).contains(&days) {
        Ok(days)
    } else {
        Err(Error::Validation("days must be between 1 and 400".into()))
    }
}

/// `GET /api/v1/reports/tickets?days=N` (default 30, at most 400).
#[utoipa::path(
    get,
    path = "/api/v1/reports/tickets",
    tag = "support",
    params(ReportQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The ticket report over tickets opened in the period", body = Report),
    )
)]
pub async fn tickets(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse> {
    let days = period(q.days)?;
    let fleet = state.fleet_summary().await?;
    let r = report(&state.db, days, state.clock.now(), &fleet.summary.versions).await?;
    Ok(HttpResponse::Ok().json(r))
}
