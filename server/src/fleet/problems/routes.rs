//! `/api/v1/problems`: fleet problems (faults with one code and signature
//! across boxes) for every role; operators and support staff mark one
//! resolved, and a fault on a newer version reopens it by itself.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;
use wavecast_protocol::Problem;

use super::{rules::ProblemStatus, store as problems};
use crate::{
    fleet::views::ProblemView,
    http::params::limit,
    identity::{
        auth::{access, Auth},
        roles::Role,
    },
    platform::error::{Error, Result},
    state::AppState,
};

/// The query of `GET /api/v1/problems`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only problems in this status.
    status: Option<ProblemStatus>,
    /// Only problems of this fault code.
    code: Option<String>,
    /// Most problems to answer: 1 to 1000, 100 by default.
    limit: Option<u64>,
}

/// `GET /api/v1/problems?status=open|resolved&code=CODE&limit=N`, most
/// recently seen first.
#[utoipa::path(
    get,
    path = "/api/v1/problems",
    tag = "fleet",
    params(ListQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The problems, most recently seen first", body = Vec<ProblemView>),
    )
)]
pub async fn list(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let limit = limit(q.limit, 100, 1000)?;
    let list = problems::list(&state.db, q.status, q.code.as_deref(), limit).await?;
    Ok(HttpResponse::Ok().json(list))
}

pub fn id_of(path: &str) -> Result<Uuid> {
    Uuid::parse_str(path).map_err(|_| Error::NotFound(format!("no problem {path}")))
}

/// `GET /api/v1/problems/{id}`
#[utoipa::path(
    get,
    path = "/api/v1/problems/{id}",
    tag = "fleet",
    params(("id" = String, Path, description = "The problem's id (a UUID)")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The problem", body = ProblemView),
    )
)]
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(problems::show(&state.db, id_of(&path)?).await?))
}

/// `POST /api/v1/problems/{id}/resolve` (operators and support staff).
#[utoipa::path(
    post,
    path = "/api/v1/problems/{id}/resolve",
    tag = "fleet",
    params(("id" = String, Path, description = "The problem's id (a UUID)")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The problem, resolved at the newest versions its boxes ran", body = ProblemView),
        (status = 409, description = "The problem is already resolved", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resolve(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.demand_one_of(&[Role::Operator, Role::Support], "resolving a problem")?;
    let id = id_of(&path)?;
    let view = problems::resolve_by(&state.db, &auth, id, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(view))
}
