//! `/api/v1/ddi/targets`: operators register boxes that run a hawkBit DDI
//! client, and issue or revoke their `TargetToken`s (shown once, stored
//! hashed).

use actix_web::{web, HttpResponse};
use wavecast_protocol::Problem;

use super::{
    rules::controller_id,
    store,
    views::{TargetBody, TargetToken, TargetView},
};
use crate::{
    identity::auth::{access, Auth},
    platform::{
        error::{Error, Result},
        text::Line,
    },
    state::AppState,
};

/// `POST /api/v1/ddi/targets` (operator): registers a DDI box, accepted,
/// with a new `TargetToken`.
#[utoipa::path(
    post,
    path = "/api/v1/ddi/targets",
    tag = "ddi",
    request_body = TargetBody,
    security(("operator" = [])),
    responses(
        (status = 201, description = "The box, with its TargetToken (shown only now)", body = TargetToken),
        (status = 409, description = "A box with that serial or controller id exists", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "The controller id, model or revision is not acceptable", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn register(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    body: web::Json<TargetBody>,
) -> Result<HttpResponse> {
    let b = body.into_inner();
    let id = controller_id(b.controller_id.trim()).map_err(Error::Validation)?;
    let label = |field: &str, v: Option<String>| -> Result<String> {
        match v {
            Some(v) => Ok(Line::parse(field, &v, 64)
                .map_err(Error::Validation)?
                .to_string()),
            None => Ok(String::new()),
        }
    };
    let model = label("model", b.model)?;
    let revision = label("hardware_revision", b.hardware_revision)?;
    let (target, token) = store::register(
        &state.db,
        &auth,
        id.to_owned(),
        model,
        revision,
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Created().json(TargetToken { target, token }))
}

/// `GET /api/v1/ddi/targets/{controller}`
#[utoipa::path(
    get,
    path = "/api/v1/ddi/targets/{controller}",
    tag = "ddi",
    params(("controller" = String, Path, description = "The box's controller id")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The DDI box", body = TargetView),
        (status = 404, description = "No DDI box with that controller id", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    controller: web::Path<String>,
) -> Result<HttpResponse> {
    let t = store::find(&state.db, &controller)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no DDI box {controller:?}")))?;
    Ok(HttpResponse::Ok().json(t.view()))
}

/// `POST /api/v1/ddi/targets/{controller}/token` (operator): a new
/// `TargetToken`; the old one stops working.
#[utoipa::path(
    post,
    path = "/api/v1/ddi/targets/{controller}/token",
    tag = "ddi",
    params(("controller" = String, Path, description = "The box's controller id")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The box with its new TargetToken (shown only now)", body = TargetToken),
        (status = 404, description = "No DDI box with that controller id", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn issue_token(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    controller: web::Path<String>,
) -> Result<HttpResponse> {
    let (target, token) =
        store::issue_token(&state.db, &auth, controller.into_inner(), state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(TargetToken { target, token }))
}

/// `DELETE /api/v1/ddi/targets/{controller}/token` (operator): revokes
/// the box's `TargetToken`.
#[utoipa::path(
    delete,
    path = "/api/v1/ddi/targets/{controller}/token",
    tag = "ddi",
    params(("controller" = String, Path, description = "The box's controller id")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The box, without a token", body = TargetView),
        (status = 404, description = "No DDI box with that controller id", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn revoke_token(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    controller: web::Path<String>,
) -> Result<HttpResponse> {
    let target =
        store::revoke_token(&state.db, &auth, controller.into_inner(), state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(target))
}
