//! `/api/v1/problems`: fleet problems (faults with one code and signature
//! across boxes) for every role; operators and support staff mark one
//! resolved, and a fault on a newer version reopens it by itself.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use uuid::Uuid;

use super::{rules::ProblemStatus, store as problems};
use crate::{
    http::params::limit,
    identity::{
        auth::{access, Auth},
        roles::Role,
    },
    platform::error::{Error, Result},
    state::AppState,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<ProblemStatus>,
    code: Option<String>,
    limit: Option<u64>,
}

/// `GET /api/v1/problems?status=open|resolved&code=CODE&limit=N`, most
/// recently seen first.
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
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(problems::show(&state.db, id_of(&path)?).await?))
}

/// `POST /api/v1/problems/{id}/resolve` (operators and support staff).
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
