//! `/api/v1/rollouts`: create, list, show; pause, resume, approve, abort
//! (roll back is [`super::rollback`]).

use actix_web::{web, HttpResponse};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use wavecast_protocol::Problem;

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
    updates::views::{CreateRollout, RolloutView, TargetCount, TargetPreview},
};

/// `POST /api/v1/rollouts`
#[utoipa::path(
    post,
    path = "/api/v1/rollouts",
    tag = "updates",
    request_body = CreateRollout,
    security(("operator" = [])),
    responses(
        (status = 201, description = "The rollout, with its first wave open when it is due", body = RolloutView),
        (status = 409, description = "A bundle named is not published", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    body: web::Json<CreateRollout>,
) -> Result<HttpResponse> {
    let r = insert(&state, &auth, body.into_inner(), None).await?;
    Ok(HttpResponse::Created().json(detail(&state.db, r, state.clock.now()).await?))
}

/// The filter of `GET /api/v1/rollouts`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only rollouts in this state.
    #[param(value_type = Option<RolloutState>)]
    state: Option<String>,
}

/// `GET /api/v1/rollouts`
#[utoipa::path(
    get,
    path = "/api/v1/rollouts",
    tag = "updates",
    params(ListQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "Rollouts, newest first, with their counts (without progress)", body = Vec<RolloutView>),
    )
)]
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
#[utoipa::path(
    post,
    path = "/api/v1/rollouts/preview",
    tag = "updates",
    request_body = TargetPreview,
    security(("operator" = [])),
    responses(
        (status = 200, description = "How many accepted boxes the target matches now", body = TargetCount),
    )
)]
pub async fn preview(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    body: web::Json<TargetPreview>,
) -> Result<HttpResponse> {
    let matching = standing::matching(&state.db, &body.target, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(TargetCount { matching }))
}

/// `GET /api/v1/rollouts/{id}`
#[utoipa::path(
    get,
    path = "/api/v1/rollouts/{id}",
    tag = "updates",
    params(("id" = String, Path, description = "Rollout id")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The rollout, with where its boxes stand and what it waits for", body = RolloutView),
    )
)]
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let r = find(&state.db, &id).await?;
    Ok(HttpResponse::Ok().json(detail(&state.db, r, state.clock.now()).await?))
}

/// `POST /api/v1/rollouts/{id}/{pause|resume|approve|abort}`
#[utoipa::path(
    post,
    path = "/api/v1/rollouts/{id}/{action}",
    tag = "updates",
    params(
        ("id" = String, Path, description = "Rollout id"),
        ("action" = String, Path, description = "pause, resume, approve, abort or rollback"),
    ),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The rollout after pause, resume, approve or abort", body = RolloutView),
        (status = 201, description = "rollback: the rollout is aborted and this new rollout offers \
                                      each bundle's previous version to the boxes that took it",
         body = RolloutView),
        (status = 409, description = "Not allowed in the rollout's state, or no earlier version to roll back to",
         body = Problem, content_type = "application/problem+json"),
    )
)]
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
