//! `/api/v1/tokens`: create, list, show and revoke API tokens.

use actix_web::{web, HttpResponse};
use chrono::{TimeDelta, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Deserialize;
use uuid::Uuid;
use wavecast_protocol::Problem;

use super::rules as token;
use crate::{
    http::params::checked,
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
        bootstrap,
        caller::Caller,
        roles::Role,
        users::store::find_by_name,
        views::{CreateToken, CreatedToken, TokenView},
    },
    platform::{
        entities::{api_token, user},
        error::{Error, Result},
        text::Line,
    },
    state::AppState,
};

/// Longest lifetime a token may be given, in days.
const MAX_TOKEN_DAYS: u32 = 3650;

pub fn token_view(m: api_token::Model, owner: &str) -> TokenView {
    TokenView {
        id: m.id,
        user: owner.to_owned(),
        name: m.name,
        prefix: m.prefix,
        created_at: m.created_at,
        expires_at: m.expires_at,
        revoked_at: m.revoked_at,
        last_used_at: m.last_used_at,
    }
}

/// The query of `GET /api/v1/tokens`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Another user's tokens (admins only).
    user: Option<String>,
    /// Everyone's tokens (admins only).
    #[serde(default)]
    all: bool,
}

/// `GET /api/v1/tokens`: the caller's own tokens; admins may ask for a user's or all.
#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    tag = "identity",
    params(ListQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The tokens, oldest first", body = Vec<TokenView>),
        (status = 404, description = "No user of the name `user` gives", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let owner = if query.all {
        auth.demand(Role::Admin)?;
        None
    } else {
        Some(match &query.user {
            Some(name) if *name != auth.name => {
                auth.demand(Role::Admin)?;
                find_by_name(&state.db, name).await?.id
            }
            _ => auth.user_id,
        })
    };
    Ok(HttpResponse::Ok().json(tokens_of(&state.db, owner).await?))
}

/// The tokens of user `owner` (everyone's when None), oldest first.
pub async fn tokens_of(
    db: &impl sea_orm::ConnectionTrait,
    owner: Option<Uuid>,
) -> Result<Vec<TokenView>> {
    let mut select = api_token::Entity::find()
        .find_also_related(user::Entity)
        .order_by_asc(api_token::Column::CreatedAt);
    if let Some(owner_id) = owner {
        select = select.filter(api_token::Column::UserId.eq(owner_id));
    }
    Ok(select
        .all(db)
        .await?
        .into_iter()
        .map(|(t, u)| {
            let owner = u.map(|u| u.name).unwrap_or_default();
            token_view(t, &owner)
        })
        .collect())
}

/// Loads a token the caller may see: their own, or any for admins. Others'
/// tokens are 404, not 403, so ids cannot be probed.
async fn visible_token(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(api_token::Model, user::Model)> {
    let not_found = || Error::NotFound(format!("no token with id {id}"));
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    match api_token::Entity::find_by_id(id)
        .find_also_related(user::Entity)
        .one(&state.db)
        .await?
    {
        Some((t, Some(u))) if u.id == caller.user_id || caller.role == Role::Admin => Ok((t, u)),
        _ => Err(not_found()),
    }
}

/// What the audit log keeps of a new token.
#[derive(Debug, serde::Serialize)]
struct TokenCreated {
    user: String,
    name: String,
    expires_at: Option<chrono::DateTime<Utc>>,
}

/// `GET /api/v1/tokens/{id}`
#[utoipa::path(
    get,
    path = "/api/v1/tokens/{id}",
    tag = "identity",
    params(("id" = String, Path, description = "The token's id (a UUID)")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The token's metadata", body = TokenView),
    )
)]
pub async fn show(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let (t, u) = visible_token(&state, &auth, &id).await?;
    Ok(HttpResponse::Ok().json(token_view(t, &u.name)))
}

/// `POST /api/v1/tokens`: any user may create tokens for themselves; admins
/// for anyone. The answer holds the token text, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "identity",
    request_body = CreateToken,
    security(("operator" = [])),
    responses(
        (status = 201, description = "The token, with its secret text shown this once", body = CreatedToken),
        (status = 404, description = "No user of the name `user` gives", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    body: web::Json<CreateToken>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let now = state.clock.now();
    let name = checked(Line::parse("name", &body.name, 200))?.into_string();
    let expires_at = match body.expires_in_days {
        Some(0) => {
            return Err(Error::Validation(
                "expires_in_days must be at least 1".into(),
            ))
        }
        Some(d) if d > MAX_TOKEN_DAYS => {
            return Err(Error::Validation(format!(
                "expires_in_days must be at most {MAX_TOKEN_DAYS}"
            )))
        }
        Some(d) => Some(now + TimeDelta::days(i64::from(d))),
        None => None,
    };
    let owner = match &body.user {
        Some(other) if *other != auth.name => {
            auth.demand(Role::Admin)?;
            find_by_name(&state.db, other).await?
        }
        _ => user::Entity::find_by_id(auth.user_id)
            .one(&state.db)
            .await?
            .ok_or_else(|| Error::NotFound("the caller's user is gone".into()))?,
    };
    let new = token::generate();
    let plaintext = new.plaintext.clone();
    let owner_name = owner.name.clone();
    let caller: Caller = (*auth).clone();
    let model = audited(&state.db, &auth, now, move |txn| {
        Box::pin(async move {
            let model = api_token::ActiveModel {
                id: Set(Uuid::now_v7()),
                user_id: Set(owner.id),
                name: Set(name),
                prefix: Set(new.prefix),
                secret_hash: Set(new.hash),
                created_at: Set(now),
                expires_at: Set(expires_at),
                revoked_at: Set(None),
                last_used_at: Set(None),
                bootstrap: Set(false),
            }
            .insert(txn)
            .await?;
            bootstrap::spend(txn, &caller, now).await?;
            let entry =
                Entry::new("token.create", "token", model.prefix.clone()).details(&TokenCreated {
                    user: owner.name,
                    name: model.name.clone(),
                    expires_at: model.expires_at,
                });
            Ok((model, entry))
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(CreatedToken {
        token: plaintext,
        meta: token_view(model, &owner_name),
    }))
}

/// `DELETE /api/v1/tokens/{id}`: revokes the token (kept for the record).
/// Revoking an already revoked token is a no-op that answers the same.
#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    tag = "identity",
    params(("id" = String, Path, description = "The token's id (a UUID)")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The token, revoked (kept for the record)", body = TokenView),
    )
)]
pub async fn revoke(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(revoke_token(&state, &auth, &id).await?))
}

/// Revokes token `id` as `caller` (their own, or any for admins); a
/// revoked token stays revoked and answers the same.
pub async fn revoke_token(state: &AppState, caller: &Caller, id: &str) -> Result<TokenView> {
    let (t, u) = visible_token(state, caller, id).await?;
    if t.revoked_at.is_some() {
        return Ok(token_view(t, &u.name));
    }
    let now = state.clock.now();
    let updated = audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            let mut model: api_token::ActiveModel = t.into();
            model.revoked_at = Set(Some(now));
            let model = model.update(txn).await?;
            let entry = Entry::new("token.revoke", "token", model.prefix.clone());
            Ok((model, entry))
        })
    })
    .await?;
    Ok(token_view(updated, &u.name))
}
