//! Liveness (`/healthz`), readiness (`/readyz`), the server's metrics
//! (`/metrics`) and `GET /api/v1/version`.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use wavecast_protocol::{Problem, ServerVersion, PROTOCOL_VERSION};

use crate::{
    identity::auth::{access, Auth},
    platform::{
        db,
        entities::rollout,
        error::{Error, Result},
    },
    state::AppState,
};

/// `GET /healthz`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Liveness {
    /// Always `ok`: the process is up and serving HTTP.
    pub status: String,
}

/// `GET /readyz` when ready.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Readiness {
    pub status: String,
    pub database: String,
    /// `filling` until the device directory has read every box (check-ins
    /// work either way; until then unknown boxes cost a database read).
    pub device_directory: String,
    pub devices_in_directory: usize,
}

/// The process is up and serving HTTP.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "server",
    responses((status = 200, description = "The process is up", body = Liveness))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Liveness {
        status: "ok".into(),
    })
}

/// The server can do its work: the database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "server",
    responses(
        (status = 200, description = "Ready to serve", body = Readiness),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if db::ping(&state.db).await {
        HttpResponse::Ok().json(Readiness {
            status: "ready".into(),
            database: "ok".into(),
            device_directory: if state.directory.is_filled() {
                "filled"
            } else {
                "filling"
            }
            .into(),
            devices_in_directory: state.directory.len(),
        })
    } else {
        super::problem::problem_response(
            &wavecast_protocol::Problem::new("not-ready", "Not ready", 503)
                .with_detail("the database does not answer"),
            false,
        )
    }
}

/// The server's name, version and protocol version.
#[utoipa::path(
    get,
    path = "/api/v1/version",
    tag = "server",
    responses((status = 200, description = "Name, version, protocol version and database backend", body = ServerVersion))
)]
pub async fn version(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(ServerVersion {
        name: "wavecast".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        protocol: PROTOCOL_VERSION,
        database: Some(state.backend.name().to_owned()),
    })
}

/// `GET /metrics`: the server's own metrics in the Prometheus text format,
/// for any role's token (Prometheus sends it with `authorization`).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "server",
    security(("operator" = [])),
    responses((status = 200, description = "The server's metrics (OpenMetrics text)", content_type = "application/openmetrics-text", body = String))
)]
pub async fn metrics(_: Auth<access::Viewer>, state: web::Data<AppState>) -> Result<HttpResponse> {
    use sea_orm::{EntityTrait, QuerySelect};
    let rollouts: Vec<(String, i64)> = rollout::Entity::find()
        .select_only()
        .column(rollout::Column::State)
        .column_as(
            sea_orm::sea_query::Expr::col(rollout::Column::Id).count(),
            "n",
        )
        .group_by(rollout::Column::State)
        .into_tuple()
        .all(&state.db)
        .await?;
    let text = state
        .metrics
        .render(
            (state.directory.len(), state.directory.is_filled()),
            &rollouts,
        )
        .map_err(|e| Error::Internal(anyhow::anyhow!("metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(text))
}
