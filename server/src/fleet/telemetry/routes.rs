//! A box's telemetry for operators and support staff:
//! `GET /api/v1/devices/{ref}/events` (newest first) and
//! `GET /api/v1/devices/{ref}/series` (one health metric over a range).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use wavecast_protocol::Problem;

use super::{
    rules::{self as metrics, EventKind},
    store,
};
use crate::{
    fleet::{
        devices::store::find,
        views::{DeviceEvents, Series},
    },
    http::params::limit,
    identity::auth::{access, Auth},
    platform::error::{Error, Result},
    state::AppState,
};

/// The query of `GET /api/v1/devices/{ref}/events`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only events of this kind.
    #[serde(rename = "type")]
    #[param(inline)]
    kind: Option<EventKind>,
    /// Most events to answer: 1 to 1000, 100 by default.
    limit: Option<u64>,
}

/// `GET /api/v1/devices/{id or serial}/events?type=health|fault&limit=N`:
/// the box's events, newest first (100 unless `limit` says, at most 1000).
#[utoipa::path(
    get,
    path = "/api/v1/devices/{reference}/events",
    tag = "fleet",
    params(("reference" = String, Path, description = "The device's id (a UUID) or its serial"), EventsQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The box's events, newest first", body = DeviceEvents),
    )
)]
pub async fn events(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    reference: web::Path<String>,
    q: web::Query<EventsQuery>,
) -> Result<HttpResponse> {
    let limit = limit(q.limit, 100, 1000)?;
    let d = find(&state.db, &reference).await?;
    let events = store::recent(&state.db, d.id, q.kind, limit).await?;
    Ok(HttpResponse::Ok().json(events))
}

/// The query of `GET /api/v1/devices/{ref}/series`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SeriesQuery {
    /// The metric's name, e.g. `cpu_percent` or `storage_used_bytes:/data`.
    metric: String,
    /// Start of the range, Unix seconds (24 hours before `to` by default).
    from: Option<i64>,
    /// End of the range, Unix seconds (now by default).
    to: Option<i64>,
    /// Most points to answer: 1 to 10000, 10000 by default.
    limit: Option<u64>,
    /// Raw reports (at most 31 days) or hourly rollups (at most 400 days);
    /// by default raw up to 31 days, hourly beyond.
    resolution: Option<metrics::Resolution>,
}

/// Longest range one raw series query reads: 31 days.
const MAX_SERIES_SECS: i64 = metrics::MAX_RAW_SPAN;
/// Longest range one hourly series query reads: 400 days.
const MAX_HOURLY_SECS: i64 = 400 * 86_400;

/// `GET /api/v1/devices/{id or serial}/series?metric=NAME&from=T&to=T&limit=N&resolution=raw|hour`:
/// one health metric over a range of Unix seconds (the last 24 hours unless
/// given), oldest first: raw reports (at most 31 days and 10,000 reports),
/// or hourly rollups (at most 400 days). By default raw up to 31 days,
/// hourly beyond.
#[utoipa::path(
    get,
    path = "/api/v1/devices/{reference}/series",
    tag = "fleet",
    params(("reference" = String, Path, description = "The device's id (a UUID) or its serial"), SeriesQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The metric over the range, oldest first", body = Series),
        (status = 404, description = "No such device, or the box does not report the metric (the detail names those it does)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn series(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    reference: web::Path<String>,
    q: web::Query<SeriesQuery>,
) -> Result<HttpResponse> {
    metrics::check_name(&q.metric).map_err(Error::Validation)?;
    let now = state.clock.now().timestamp();
    let to = q.to.unwrap_or(now);
    let from = q.from.unwrap_or(to.saturating_sub(86_400));
    let resolution = q
        .resolution
        .unwrap_or_else(|| metrics::resolution(to.saturating_sub(from)));
    let max = match resolution {
        metrics::Resolution::Raw => MAX_SERIES_SECS,
        metrics::Resolution::Hour => MAX_HOURLY_SECS,
    };
    // Checked: both ends come from the query string, any i64.
    if to
        .checked_sub(from)
        .is_none_or(|span| !(0..=max).contains(&span))
    {
        return Err(Error::Validation(format!(
            "need from <= to, at most {max} seconds apart at this resolution"
        )));
    }
    let limit = limit(q.limit, 10_000, 10_000)?;
    let d = find(&state.db, &reference).await?;
    // A name the box does not report (a typo, most often) is not an empty
    // series: say which names it does report.
    let known = store::known_metrics(&state.db, d.id).await?;
    if !known.contains(&q.metric) {
        return Err(Error::NotFound(if known.is_empty() {
            format!(
                "box {} has not reported health yet, so it has no metric {:?}",
                d.serial, q.metric
            )
        } else {
            format!(
                "box {} does not report metric {:?}; it reports: {}",
                d.serial,
                q.metric,
                known.join(", ")
            )
        }));
    }
    let s = match resolution {
        metrics::Resolution::Raw => {
            store::series(&state.db, d.id, &q.metric, from, to, limit).await?
        }
        metrics::Resolution::Hour => {
            store::series_hourly(&state.db, d.id, &q.metric, from, to, limit).await?
        }
    };
    Ok(HttpResponse::Ok().json(s))
}
