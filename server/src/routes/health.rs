//! Liveness (`/healthz`), readiness (`/readyz`), the server's metrics
//! (`/metrics`) and `GET /api/v1/version`.

use actix_web::{web, HttpResponse};
use wavecast_protocol::{ServerVersion, PROTOCOL_VERSION};

use crate::{
    auth::{access, Auth},
    db,
    error::ApiError,
    state::AppState,
};

/// The process is up and serving HTTP.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The server can do its work: the database answers. Also says whether the
/// device directory has finished filling (check-ins work either way; until
/// then unknown boxes cost a database read).
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if db::ping(&state.db).await {
        Ok(HttpResponse::Ok().json(serde_json::json!({
            "status": "ready",
            "database": "ok",
            "device_directory": if state.directory.is_filled() { "filled" } else { "filling" },
            "devices_in_directory": state.directory.len(),
        })))
    } else {
        Ok(crate::error::problem_response(
            &wavecast_protocol::Problem::new("not-ready", "Not ready", 503)
                .with_detail("the database does not answer"),
            false,
        ))
    }
}

/// The server's name, version and protocol version.
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
pub async fn metrics(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    use sea_orm::{EntityTrait, QuerySelect};

    use crate::entities::rollout;
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
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(text))
}
