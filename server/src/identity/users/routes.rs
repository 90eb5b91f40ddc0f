//! `/api/v1/users` and `/api/v1/me`: operator accounts.

use actix_web::{web, HttpResponse};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::{
    rules::UserName,
    store::{find_by_name, user_view},
};
use crate::{
    http::params::checked,
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
        bootstrap,
        caller::Caller,
        roles::Role,
        tokens::routes::token_view,
        views::{CreateUser, UpdateUser, WhoAmI},
    },
    platform::{
        entities::{api_token, user},
        error::{Error, Result},
        text::Line,
    },
    state::AppState,
};

/// `GET /api/v1/me`
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
pub async fn list(_: Auth<access::Admin>, state: web::Data<AppState>) -> Result<HttpResponse> {
    let users: Vec<_> = user::Entity::find()
        .order_by_asc(user::Column::Name)
        .all(&state.db)
        .await?
        .into_iter()
        .map(user_view)
        .collect();
    Ok(HttpResponse::Ok().json(users))
}

/// `GET /api/v1/users/{name}`: admins see anyone, others only themselves.
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
pub async fn create(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    body: web::Json<CreateUser>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let name = UserName::parse(&body.name).map_err(Error::Validation)?;
    let display_name = match &body.display_name {
        Some(d) => checked(Line::parse("display_name", d, 200))?.into_string(),
        None => name.to_string(),
    };
    let now = state.clock.now();
    let caller: Caller = (*auth).clone();
    let created = audited(&state.db, &auth, now, move |txn| {
        Box::pin(async move {
            let taken = user::Entity::find()
                .filter(user::Column::Name.eq(name.as_str()))
                .count(txn)
                .await?;
            if taken > 0 {
                return Err(Error::Conflict(format!(
                    "a user named {name} already exists"
                )));
            }
            let model = user::ActiveModel {
                id: Set(Uuid::now_v7()),
                name: Set(name.to_string()),
                display_name: Set(display_name),
                role: Set(body.role),
                disabled: Set(false),
                created_at: Set(now),
                password_hash: Set(None),
                password_changed_at: Set(None),
            }
            .insert(txn)
            .await?;
            bootstrap::spend(txn, &caller, now).await?;
            let entry = Entry::new("user.create", "user", model.name.clone())
                .details(&UserChange::role(body.role));
            Ok((model, entry))
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(user_view(created)))
}

/// What the audit log keeps of a user change.
#[derive(Debug, serde::Serialize)]
struct UserChange {
    role: Role,
}

impl UserChange {
    fn role(role: Role) -> Self {
        Self { role }
    }
}

/// `PATCH /api/v1/users/{name}`: role, display name, disabled. The last
/// enabled admin cannot be demoted or disabled, so the fleet never loses its
/// administrator.
pub async fn update(
    auth: Auth<access::Admin>,
    state: web::Data<AppState>,
    name: web::Path<String>,
    body: web::Json<UpdateUser>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let display_name = body
        .display_name
        .as_deref()
        .map(|d| checked(Line::parse("display_name", d, 200)))
        .transpose()?;
    let name = name.into_inner();
    let now = state.clock.now();
    let updated = audited(&state.db, &auth, now, move |txn| {
        Box::pin(async move {
            let current = find_by_name(txn, &name).await?;
            let loses_admin = current.role == Role::Admin
                && !current.disabled
                && (body.role.is_some_and(|r| r != Role::Admin) || body.disabled == Some(true));
            if loses_admin {
                let admins = user::Entity::find()
                    .filter(user::Column::Role.eq(Role::Admin))
                    .filter(user::Column::Disabled.eq(false))
                    .count(txn)
                    .await?;
                if admins <= 1 {
                    return Err(Error::Conflict(format!(
                        "{name} is the last enabled admin; make another admin first"
                    )));
                }
            }
            let mut model: user::ActiveModel = current.into();
            if let Some(role) = body.role {
                model.role = Set(role);
            }
            if let Some(d) = display_name {
                model.display_name = Set(d.into_string());
            }
            if let Some(disabled) = body.disabled {
                model.disabled = Set(disabled);
            }
            let model = model.update(txn).await?;
            if model.disabled {
                // A disabled user's console sessions end with it.
                crate::identity::sessions::store::end_all(txn, model.id, now).await?;
            }
            let entry = Entry::new("user.update", "user", model.name.clone()).details(&body);
            Ok((model, entry))
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(user_view(updated)))
}
