//! `/api/v1/fault-catalog`: the fault codes boxes report, each with its
//! class, severity, knowledge-base article and ticket policy. Everyone
//! reads it; operators (release health) and support staff (articles and
//! ticket policies) edit it, and every edit is audited.

use actix_web::{web, HttpResponse};

use super::{
    rules::{check_code, CatalogEntry},
    store as catalog,
};
use crate::{
    fleet::views::{CatalogEntryBody, CatalogEntryView},
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
        caller::Caller,
        roles::Role,
    },
    platform::error::{Error, Result},
    state::AppState,
};

/// Operators and support staff (and admins) may edit.
const EDITORS: &[Role] = &[Role::Operator, Role::Support];

fn code_of(path: &str) -> Result<String> {
    check_code(path).map_err(Error::NotFound)?;
    Ok(path.to_owned())
}

/// `GET /api/v1/fault-catalog`
#[utoipa::path(
    get,
    path = "/api/v1/fault-catalog",
    tag = "fleet",
    security(("operator" = [])),
    responses(
        (status = 200, description = "Every catalog entry, by code", body = Vec<CatalogEntryView>),
    )
)]
pub async fn list(_: Auth<access::Viewer>, state: web::Data<AppState>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(catalog::list(&state.db).await?))
}

/// `GET /api/v1/fault-catalog/{code}`
#[utoipa::path(
    get,
    path = "/api/v1/fault-catalog/{code}",
    tag = "fleet",
    params(("code" = String, Path, description = "A fault code as boxes report it, e.g. `HW-HDMI-001`")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The catalog entry", body = CatalogEntryView),
    )
)]
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let code = code_of(&path)?;
    let entry = catalog::get(&state.db, &code)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no fault code {code} in the catalog")))?;
    Ok(HttpResponse::Ok().json(entry))
}

/// `PUT /api/v1/fault-catalog/{code}`: creates (201) or replaces (200).
#[utoipa::path(
    put,
    path = "/api/v1/fault-catalog/{code}",
    tag = "fleet",
    params(("code" = String, Path, description = "A fault code as boxes report it, e.g. `HW-HDMI-001`")),
    request_body = CatalogEntryBody,
    security(("operator" = [])),
    responses(
        (status = 200, description = "The entry replaced", body = CatalogEntryView),
        (status = 201, description = "The entry created", body = CatalogEntryView),
    )
)]
pub async fn put(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<CatalogEntryBody>,
) -> Result<HttpResponse> {
    let b = body.into_inner();
    let entry = CatalogEntry {
        code: path.into_inner(),
        title: b.title,
        class: b.class,
        severity: b.severity,
        kb: b.kb,
        policy: b.policy,
    };
    let (view, created) = put_entry(&state, &auth, entry).await?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// Creates or replaces catalog entry `entry` for `caller` (operator or
/// support staff), audited; true when it is new.
pub async fn put_entry(
    state: &AppState,
    caller: &Caller,
    entry: CatalogEntry,
) -> Result<(CatalogEntryView, bool)> {
    caller.demand_one_of(EDITORS, "editing the fault catalog")?;
    // `catalog::put` validates the entry before it writes.
    let now = state.clock.now();
    audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            let (view, created) = catalog::put(txn, &entry, now).await?;
            let action = if created {
                "fault_catalog.create"
            } else {
                "fault_catalog.update"
            };
            let audit = Entry::new(action, "fault_code", entry.code.clone()).details(&entry);
            Ok(((view, created), audit))
        })
    })
    .await
}

/// `DELETE /api/v1/fault-catalog/{code}`. A code the configured catalog
/// file lists comes back at the next start; retire it from the file too.
#[utoipa::path(
    delete,
    path = "/api/v1/fault-catalog/{code}",
    tag = "fleet",
    params(("code" = String, Path, description = "A fault code as boxes report it, e.g. `HW-HDMI-001`")),
    security(("operator" = [])),
    responses(
        (status = 204, description = "The entry is deleted"),
    )
)]
pub async fn delete(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.demand_one_of(EDITORS, "editing the fault catalog")?;
    let code = code_of(&path)?;
    audited(&state.db, &auth, state.clock.now(), move |txn| {
        Box::pin(async move {
            if !catalog::delete(txn, &code).await? {
                return Err(Error::NotFound(format!(
                    "no fault code {code} in the catalog"
                )));
            }
            Ok(((), Entry::new("fault_catalog.delete", "fault_code", code)))
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
