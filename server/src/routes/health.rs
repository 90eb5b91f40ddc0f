//! Liveness (`/healthz`), readiness (`/readyz`) and `GET /api/v1/version`.

use actix_web::{web, HttpResponse};
use wavecast_protocol::{ServerVersion, PROTOCOL_VERSION};

use crate::{db, error::ApiError, state::AppState};

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
