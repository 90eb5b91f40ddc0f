//! `/api/v1/users` and `/api/v1/me`: operator accounts.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};
use uuid::Uuid;

use super::tokens::token_view;
use crate::{
    api::{CreateUser, UpdateUser, UserView, WhoAmI},
    audit::{self, Entry},
    auth::{access, Auth},
    domain::{
        names::{parse_label, UserName},
        role::Role,
    },
    entities::{api_token, user},
    error::{ApiError, ApiResult},
    state::AppState,
};

pub(super) fn user_view(m: user::Model) -> ApiResult<UserView> {
    let role = m
        .role
        .parse()
        .map_err(|e: String| ApiError::Internal(anyhow::anyhow!("user {}: {e}", m.name)))?;
    Ok(UserView {
        id: m.id,
        name: m.name,
        display_name: m.display_name,
        role,
        disabled: m.disabled,
        created_at: m.created_at,
    })
}

/// Looks a user up by name (404 when absent).
pub(super) async fn find_by_name(db: &impl ConnectionTrait, name: &str) -> ApiResult<user::Model> {
    user::Entity::find()
        .filter(user::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user named {name:?}")))
}

/// The user a request body or query names in `field`: like
/// [`find_by_name`], but a name that is not there is a bad value (422),
/// not a missing resource.
pub(super) async fn named(
    db: &impl ConnectionTrait,
    field: &str,
    name: &str,
) -> ApiResult<user::Model> {
    find_by_name(db, name).await.map_err(|e| match e {
        ApiError::NotFound(m) => ApiError::Validation(format!("{field}: {m}")),
        other => other,
    })
}

/// `GET /api/v1/me`
pub async fn me(auth: Auth<access::Viewer>, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let owner = user::Entity::find_by_id(auth.user_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::NotFound("the caller's user is gone".to_owned()))?;
    let tok = api_token::Entity::find_by_id(auth.token_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::NotFound("the caller's token is gone".to_owned()))?;
    Ok(HttpResponse::Ok().json(WhoAmI {
        token: token_view(tok, &owner.name),
        user: user_view(owner)?,
    }))
}

/// `GET /api/v1/users`
pub async fn list(_: Auth<access::Admin>, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let users = user::Entity::find()
        .order_by_asc(user::Column::Name)
        .all(&state.db)
        .await?
        .into_iter()
        .map(user_view)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(users))
}

/// `GET /api/v1/users/{name}`: admins see anyone, others only themselves.
pub async fn show(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> ApiResult<HttpResponse> {
    if *name != auth.name {
        auth.demand(Role::Admin)?;
    }
    let found = find_by_name(&state.db, &name).await?;
    Ok(HttpResponse::Ok().json(user_view(found)?))
}

/// `POST /api/v1/users`
pub async fn create(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    body: web::Json<CreateUser>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let name = UserName::parse(&body.name).map_err(ApiError::Validation)?;
    let display_name = match &body.display_name {
        Some(d) => parse_label("display_name", d, 200).map_err(ApiError::Validation)?,
        None => name.to_string(),
    };
    let created = state
        .db
        .transaction::<_, user::Model, ApiError>(|txn| {
            let caller = auth.caller.clone();
            Box::pin(async move {
                let taken = user::Entity::find()
                    .filter(user::Column::Name.eq(name.as_str()))
                    .count(txn)
                    .await?;
                if taken > 0 {
                    return Err(ApiError::Conflict(format!(
                        "a user named {name} already exists"
                    )));
                }
                let model = user::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    name: Set(name.to_string()),
                    display_name: Set(display_name),
                    role: Set(body.role.as_str().to_owned()),
                    disabled: Set(false),
                    created_at: Set(Utc::now()),
                }
                .insert(txn)
                .await?;
                audit::record(
                    txn,
                    &caller,
                    Entry {
                        action: "user.create",
                        object_type: "user",
                        object_id: model.name.clone(),
                        details: audit::details(&serde_json::json!({ "role": body.role })),
                    },
                )
                .await?;
                Ok(model)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(user_view(created)?))
}

/// `PATCH /api/v1/users/{name}`: role, display name, disabled. The last
/// enabled admin cannot be demoted or disabled, so the fleet never loses its
/// administrator.
pub async fn update(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<UpdateUser>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let display_name = body
        .display_name
        .as_deref()
        .map(|d| parse_label("display_name", d, 200))
        .transpose()
        .map_err(ApiError::Validation)?;
    let name = name.into_inner();
    let updated = state
        .db
        .transaction::<_, user::Model, ApiError>(|txn| {
            let caller = auth.caller.clone();
            Box::pin(async move {
                let current = find_by_name(txn, &name).await?;
                let loses_admin = current.role == Role::Admin.as_str()
                    && !current.disabled
                    && (body.role.is_some_and(|r| r != Role::Admin) || body.disabled == Some(true));
                if loses_admin {
                    let admins = user::Entity::find()
                        .filter(user::Column::Role.eq(Role::Admin.as_str()))
                        .filter(user::Column::Disabled.eq(false))
                        .count(txn)
                        .await?;
                    if admins <= 1 {
                        return Err(ApiError::Conflict(format!(
                            "{name} is the last enabled admin; make another admin first"
                        )));
                    }
                }
                let mut model: user::ActiveModel = current.into();
                if let Some(role) = body.role {
                    model.role = Set(role.as_str().to_owned());
                }
                if let Some(d) = display_name {
                    model.display_name = Set(d);
                }
                if let Some(disabled) = body.disabled {
                    model.disabled = Set(disabled);
                }
                let model = model.update(txn).await?;
                audit::record(
                    txn,
                    &caller,
                    Entry {
                        action: "user.update",
                        object_type: "user",
                        object_id: model.name.clone(),
                        details: audit::details(&body),
                    },
                )
                .await?;
                Ok(model)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(user_view(updated)?))
}
