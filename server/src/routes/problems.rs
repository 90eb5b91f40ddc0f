//! `/api/v1/problems`: fleet problems (faults with one code and signature
//! across boxes) for every role; operators and support staff mark one
//! resolved, and a fault on a newer version reopens it by itself.

use actix_web::{web, HttpResponse};
use sea_orm::TransactionTrait;
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    audit::{self, Entry},
    auth::{access, Auth},
    domain::{problems::ProblemStatus, role::Role},
    error::{ApiError, ApiResult},
    problems,
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
) -> ApiResult<HttpResponse> {
    let limit = super::limit(q.limit, 100, 1000)?;
    let list = problems::list(&state.db, q.status, q.code.as_deref(), limit).await?;
    Ok(HttpResponse::Ok().json(list))
}

fn id_of(path: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(path).map_err(|_| ApiError::NotFound(format!("no problem {path}")))
}

/// `GET /api/v1/problems/{id}`
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(problems::show(&state.db, id_of(&path)?).await?))
}

/// `POST /api/v1/problems/{id}/resolve` (operators and support staff).
pub async fn resolve(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.demand_one_of(&[Role::Operator, Role::Support], "resolving a problem")?;
    let id = id_of(&path)?;
    let caller = auth.caller.clone();
    let view = state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let view = problems::resolve(txn, id).await?;
                audit::record(
                    txn,
                    &caller,
                    Entry {
                        action: "problem.resolve",
                        object_type: "problem",
                        object_id: id.to_string(),
                        details: audit::details(&view.resolved_versions),
                    },
                )
                .await?;
                Ok(view)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
