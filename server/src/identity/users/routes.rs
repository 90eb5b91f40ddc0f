//! `/api/v1/users` and `/api/v1/me`: operator accounts.

use actix_web::{web, HttpResponse};
use sea_orm::EntityTrait;
use wavecast_protocol::Problem;

use super::{
    manage::{create_user, update_user},
    store::{self, find_by_name, user_view},
};
use crate::{
    identity::{
        auth::{access, Auth},
        roles::Role,
        tokens::routes::token_view,
        views::{CreateUser, UpdateUser, UserView, WhoAmI},
    },
    platform::{
        entities::{api_token, user},
        error::{Error, Result},
    },
    state::AppState,
};

/// `GET /api/v1/me`
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "identity",
    security(("operator" = [])),
    responses(
        (status = 200, description = "The caller and the token in use", body = WhoAmI),
    )
)]
pub async fn me(auth: Auth<access::Viewer>, state: web::Data<AppState>) -> Result<HttpResponse> {
    let owner = user::Entity::find_by_id(auth.user_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| Error::NotFound("the caller's user is gone".to_owned()))?;
    let tok = api_token::Entity::find_by_id(auth.token_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| Error::NotFound("the caller's token is gone".to_owned()))?;
    Ok(HttpResponse::Ok().json(WhoAmI {
        token: token_view(tok, &owner.name),
        user: user_view(owner),
    }))
}

/// `GET /api/v1/users`
#[utoipa::path(
    get,
    path = "/api/v1/users",
    tag = "identity",
    security(("operator" = [])),
    responses(
        (status = 200, description = "Every user, by name (admins)", body = Vec<UserView>),
    )
)]
pub async fn list(_: Auth<access::Admin>, state: web::Data<AppState>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(store::all(&state.db).await?))
}

/// `GET /api/v1/users/{name}`: admins see anyone, others only themselves.
#[utoipa::path(
    get,
    path = "/api/v1/users/{name}",
    tag = "identity",
    params(("name" = String, Path, description = "The user's name")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The user", body = UserView),
    )
)]
pub async fn show(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse> {
    if *name != auth.name {
        auth.demand(Role::Admin)?;
    }
    let found = find_by_name(&state.db, &name).await?;
    Ok(HttpResponse::Ok().json(user_view(found)))
}

/// `POST /api/v1/users`
#[utoipa::path(
    post,
    path = "/api/v1/users",
    tag = "identity",
    request_body = CreateUser,
    security(("operator" = [])),
    responses(
        (status = 201, description = "The user created (admins)", body = UserView),
        (status = 409, description = "A user of that name already exists", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    body: web::Json<CreateUser>,
) -> Result<HttpResponse> {
    let created = create_user(&state, &auth, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(user_view(created)))
}

/// `PATCH /api/v1/users/{name}`: role, display name, disabled. The last
/// enabled admin cannot be demoted or disabled, so the fleet never loses its
/// administrator.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{name}",
    tag = "identity",
    params(("name" = String, Path, description = "The user's name")),
    request_body = UpdateUser,
    security(("operator" = [])),
    responses(
        (status = 200, description = "The user after the change (admins)", body = UserView),
        (status = 409, description = "The user is the last enabled admin and would stop being one", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<UpdateUser>,
) -> Result<HttpResponse> {
    let updated = update_user(&state, &auth, name.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(user_view(updated)))
}
