//! `/api/v1/fault-catalog`: the fault codes boxes report, each with its
//! class, severity, knowledge-base article and ticket policy. Everyone
//! reads it; operators (release health) and support staff (articles and
//! ticket policies) edit it, and every edit is audited.

use actix_web::{web, HttpResponse};
use sea_orm::TransactionTrait;

use crate::{
    api::CatalogEntryBody,
    audit::{self, Entry},
    auth::{access, Auth},
    catalog,
    domain::{
        faults::{check_code, CatalogEntry},
        role::Role,
    },
    error::{ApiError, ApiResult},
    state::AppState,
};

/// Operators and support staff (and admins) may edit.
const EDITORS: &[Role] = &[Role::Operator, Role::Support];

fn code_of(path: &str) -> ApiResult<String> {
    check_code(path).map_err(ApiError::NotFound)?;
    Ok(path.to_owned())
}

/// `GET /api/v1/fault-catalog`
pub async fn list(_: Auth<access::Viewer>, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(catalog::list(&state.db).await?))
}

/// `GET /api/v1/fault-catalog/{code}`
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let code = code_of(&path)?;
    let entry = catalog::get(&state.db, &code)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no fault code {code} in the catalog")))?;
    Ok(HttpResponse::Ok().json(entry))
}

/// `PUT /api/v1/fault-catalog/{code}`: creates (201) or replaces (200).
pub async fn put(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<CatalogEntryBody>,
) -> ApiResult<HttpResponse> {
    auth.demand_one_of(EDITORS, "editing the fault catalog")?;
    let b = body.into_inner();
    let entry = CatalogEntry {
        code: path.into_inner(),
        title: b.title,
        class: b.class,
        severity: b.severity,
        kb: b.kb,
        policy: b.policy,
    };
    // `catalog::put` validates the entry before it writes.
    let caller = auth.caller.clone();
    let (view, created) = state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let (view, created) = catalog::put(txn, &entry).await?;
                audit::record(
                    txn,
                    &caller,
                    Entry {
                        action: if created {
                            "fault_catalog.create"
                        } else {
                            "fault_catalog.update"
                        },
                        object_type: "fault_code",
                        object_id: entry.code.clone(),
                        details: audit::details(&entry),
                    },
                )
                .await?;
                Ok((view, created))
            })
        })
        .await?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// `DELETE /api/v1/fault-catalog/{code}`. A code the configured catalog
/// file lists comes back at the next start; retire it from the file too.
pub async fn delete(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.demand_one_of(EDITORS, "editing the fault catalog")?;
    let code = code_of(&path)?;
    let caller = auth.caller.clone();
    state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                if !catalog::delete(txn, &code).await? {
                    return Err(ApiError::NotFound(format!(
                        "no fault code {code} in the catalog"
                    )));
                }
                audit::record(
                    txn,
                    &caller,
                    Entry {
                        action: "fault_catalog.delete",
                        object_type: "fault_code",
                        object_id: code.clone(),
                        details: None,
                    },
                )
                .await
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
