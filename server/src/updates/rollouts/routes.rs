//! `/api/v1/rollouts`: create, list, show; pause, resume, approve, abort
//! (roll back is [`super::rollback`]).

use actix_web::{web, HttpResponse};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;

use super::{
    control,
    create::insert,
    rules::{RolloutAction, RolloutState},
    standing,
    store::find,
    view::{detail, view},
};
use crate::{
    identity::auth::{access, Auth},
    platform::{
        entities::rollout,
        error::{Error, Result},
    },
    state::AppState,
    updates::views::{CreateRollout, TargetCount, TargetPreview},
};

/// `POST /api/v1/rollouts`
pub async fn create(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    body: web::Json<CreateRollout>,
) -> Result<HttpResponse> {
    let r = insert(&state, &auth, body.into_inner(), None).await?;
    Ok(HttpResponse::Created().json(detail(&state.db, r, state.clock.now()).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    state: Option<String>,
}

/// `GET /api/v1/rollouts`
pub async fn list(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let mut select = rollout::Entity::find().order_by_desc(rollout::Column::CreatedAt);
    if let Some(s) = &q.state {
        let s: RolloutState = s.parse().map_err(Error::Validation)?;
        select = select.filter(rollout::Column::State.eq(s));
    }
    let mut out = Vec::new();
    for r in select.all(&state.db).await? {
        out.push(view(&state.db, r).await?);
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `POST /api/v1/rollouts/preview`: how many accepted boxes a draft
/// rollout's target matches now.
pub async fn preview(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    body: web::Json<TargetPreview>,
) -> Result<HttpResponse> {
    let matching = standing::matching(&state.db, &body.target).await?;
    Ok(HttpResponse::Ok().json(TargetCount { matching }))
}

/// `GET /api/v1/rollouts/{id}`
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let r = find(&state.db, &id).await?;
    Ok(HttpResponse::Ok().json(detail(&state.db, r, state.clock.now()).await?))
}

/// `POST /api/v1/rollouts/{id}/{pause|resume|approve|abort}`
pub async fn act(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (id, action_name) = path.into_inner();
    if action_name == "rollback" {
        return super::rollback::rollback(auth, state, web::Path::from(id)).await;
    }
    let action: RolloutAction = action_name.parse().map_err(Error::NotFound)?;
    let fresh = control::act(&state, &auth, &id, action).await?;
    Ok(HttpResponse::Ok().json(detail(&state.db, fresh, state.clock.now()).await?))
}
