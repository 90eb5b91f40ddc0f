//! `PUT /api/v1/me/password` (a user's own change) and
//! `PUT /api/v1/users/{name}/password` (an admin's reset). Either ends the
//! user's console sessions; each is audited without the password.

use actix_web::{web, HttpResponse};
use sea_orm::EntityTrait;

use super::store;
use crate::{
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
        caller::Caller,
        users::store::find_by_name,
        views::{ChangePassword, SetPassword},
    },
    platform::{
        entities::user,
        error::{Error, Result},
    },
    state::AppState,
};

/// What the audit log keeps of a password change: who set it.
#[derive(Debug, serde::Serialize)]
struct PasswordSet {
    by: &'static str,
}

/// `PUT /api/v1/me/password`
#[utoipa::path(
    put,
    path = "/api/v1/me/password",
    tag = "identity",
    request_body = ChangePassword,
    security(("operator" = [])),
    responses(
        (status = 204, description = "The password is set; the user's console sessions are ended"),
    )
)]
pub async fn change_own(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    body: web::Json<ChangePassword>,
) -> Result<HttpResponse> {
    let b = body.into_inner();
    let u = user::Entity::find_by_id(auth.user_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| Error::NotFound("the caller's user is gone".to_owned()))?;
    if let Some(phc) = &u.password_hash {
        let current = b.current.clone().ok_or_else(|| {
            Error::Validation("current: the current password is needed to change it".into())
        })?;
        if !store::verify(current, phc.clone()).await {
            return Err(Error::Forbidden("the current password is wrong".into()));
        }
    }
    save(&state, &auth, u, b.new, "self").await
}

/// `PUT /api/v1/users/{name}/password` (admins).
#[utoipa::path(
    put,
    path = "/api/v1/users/{name}/password",
    tag = "identity",
    params(("name" = String, Path, description = "The user's name")),
    request_body = SetPassword,
    security(("operator" = [])),
    responses(
        (status = 204, description = "The password is set; the user's console sessions are ended"),
    )
)]
pub async fn reset(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SetPassword>,
) -> Result<HttpResponse> {
    let u = find_by_name(&state.db, &path).await?;
    let b = body.into_inner();
    save(&state, &auth, u, b.password, "admin").await
}

/// Checks `new`, hashes it off the async workers and sets it as `u`'s
/// password (ending their console sessions), audited as set `by`.
async fn save(
    state: &AppState,
    caller: &Caller,
    u: user::Model,
    new: String,
    by: &'static str,
) -> Result<HttpResponse> {
    store::checked(&new, &u.name)?;
    let phc = store::hash(new).await?;
    let now = state.clock.now();
    let name = u.name.clone();
    audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            store::set(txn, u, phc, now).await?;
            let entry = Entry::new("user.password", "user", name).details(&PasswordSet { by });
            Ok(((), entry))
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
