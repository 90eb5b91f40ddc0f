//! `/api/v1/products`, `/api/v1/licence-policies` and `/api/v1/licences`:
//! what is sold, under which terms, the licences held, their activations
//! on boxes, and validation (operators and the operator's billing or
//! middleware, with an operator token).

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use wavecast_protocol::Problem;

use super::{
    activations,
    rules::LicenceState,
    store, validation,
    views::{
        ActivationBody, ActivationView, DeviceValidateBody, LicenceBody, LicenceCreated,
        LicenceView, PolicyBody, PolicyView, ProductBody, ProductView, ValidateBody, Validation,
        ValidationLogEntry,
    },
};
use crate::{
    fleet::devices::{auth::DeviceAuth, store::find as find_device},
    identity::auth::{access, Auth},
    platform::error::{Error, Result},
    state::AppState,
};

/// `GET /api/v1/products`
#[utoipa::path(
    get,
    path = "/api/v1/products",
    tag = "licences",
    security(("operator" = [])),
    responses((status = 200, description = "Every product, by code", body = Vec<ProductView>))
)]
pub async fn products(_: Auth<access::Viewer>, state: web::Data<AppState>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(store::products(&state.db).await?))
}

/// `POST /api/v1/products` (operator)
#[utoipa::path(
    post,
    path = "/api/v1/products",
    tag = "licences",
    request_body = ProductBody,
    security(("operator" = [])),
    responses(
        (status = 201, description = "The new product", body = ProductView),
        (status = 409, description = "A product with that code exists", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_product(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    body: web::Json<ProductBody>,
) -> Result<HttpResponse> {
    let made =
        store::create_product(&state.db, state.clock.now(), &auth, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(made))
}

/// `GET /api/v1/licence-policies`
#[utoipa::path(
    get,
    path = "/api/v1/licence-policies",
    tag = "licences",
    security(("operator" = [])),
    responses((status = 200, description = "Every policy, by name", body = Vec<PolicyView>))
)]
pub async fn policies(_: Auth<access::Viewer>, state: web::Data<AppState>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(store::policies(&state.db).await?))
}

/// `POST /api/v1/licence-policies` (operator)
#[utoipa::path(
    post,
    path = "/api/v1/licence-policies",
    tag = "licences",
    request_body = PolicyBody,
    security(("operator" = [])),
    responses(
        (status = 201, description = "The new policy", body = PolicyView),
        (status = 409, description = "A policy with that name exists", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_policy(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    body: web::Json<PolicyBody>,
) -> Result<HttpResponse> {
    let made = store::create_policy(&state.db, state.clock.now(), &auth, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(made))
}

/// The query of `GET /api/v1/licences`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only this subscriber's (id or account).
    subscriber: Option<String>,
    /// Only this box's own (id or serial).
    device: Option<String>,
}

/// The id of the box a query names (id or serial), if it names one.
async fn device_named(state: &AppState, r: Option<&str>) -> Result<Option<uuid::Uuid>> {
    match r {
        Some(d) => Ok(Some(
            find_device(&state.db, d)
                .await
                .map_err(|e| e.named_in("device"))?
                .id,
        )),
        None => Ok(None),
    }
}

/// `GET /api/v1/licences`
#[utoipa::path(
    get,
    path = "/api/v1/licences",
    tag = "licences",
    params(ListQuery),
    security(("operator" = [])),
    responses((status = 200, description = "Licences, newest first", body = Vec<LicenceView>))
)]
pub async fn list(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let subscriber = match &q.subscriber {
        Some(s) => Some(store::subscriber_id(&state.db, "subscriber", s).await?),
        None => None,
    };
    let device = device_named(&state, q.device.as_deref()).await?;
    Ok(HttpResponse::Ok().json(store::licences(&state.db, subscriber, device).await?))
}

/// `POST /api/v1/licences` (operator): the key is in the answer, once.
#[utoipa::path(
    post,
    path = "/api/v1/licences",
    tag = "licences",
    request_body = LicenceBody,
    security(("operator" = [])),
    responses((status = 201, description = "The licence with its key (shown only this once)", body = LicenceCreated))
)]
pub async fn create(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    body: web::Json<LicenceBody>,
) -> Result<HttpResponse> {
    let made =
        store::create_licence(&state.db, state.clock.now(), &auth, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(made))
}

/// `GET /api/v1/licences/{id}`
#[utoipa::path(
    get,
    path = "/api/v1/licences/{id}",
    tag = "licences",
    params(("id" = String, Path, description = "The licence's id")),
    security(("operator" = [])),
    responses((status = 200, description = "The licence with the boxes holding it", body = LicenceView))
)]
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(store::show(&state.db, &id).await?))
}

/// `POST /api/v1/licences/{id}/{suspend,reinstate,revoke}` (operator)
#[utoipa::path(
    post,
    path = "/api/v1/licences/{id}/{action}",
    tag = "licences",
    params(
        ("id" = String, Path, description = "The licence's id"),
        ("action" = String, Path, description = "suspend, reinstate or revoke"),
    ),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The licence in its new state", body = LicenceView),
        (status = 409, description = "The licence is revoked already", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn act(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (id, action) = path.into_inner();
    let to = match action.as_str() {
        "suspend" => LicenceState::Suspended,
        "reinstate" => LicenceState::Active,
        "revoke" => LicenceState::Revoked,
        other => {
            return Err(Error::NotFound(format!(
                "no licence action {other:?}; the actions are suspend, reinstate, revoke"
            )))
        }
    };
    Ok(HttpResponse::Ok()
        .json(store::set_state(&state.db, state.clock.now(), &auth, &id, to).await?))
}

/// `POST /api/v1/licences/{id}/activations` (operator): binds the licence
/// to a box, within its policy's limits.
#[utoipa::path(
    post,
    path = "/api/v1/licences/{id}/activations",
    tag = "licences",
    params(("id" = String, Path, description = "The licence's id")),
    request_body = ActivationBody,
    security(("operator" = [])),
    responses(
        (status = 200, description = "The box's activation", body = ActivationView),
        (status = 409, description = "The policy's box limit, node lock or daily activations refuse it", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn activate(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: web::Json<ActivationBody>,
) -> Result<HttpResponse> {
    let a = activations::activate(&state, &auth, &id, &body.device).await?;
    Ok(HttpResponse::Ok().json(a))
}

/// `DELETE /api/v1/licences/{id}/activations/{device}` (operator)
#[utoipa::path(
    delete,
    path = "/api/v1/licences/{id}/activations/{device}",
    tag = "licences",
    params(
        ("id" = String, Path, description = "The licence's id"),
        ("device" = String, Path, description = "The box's id or serial"),
    ),
    security(("operator" = [])),
    responses((status = 204, description = "The box no longer holds the licence"))
)]
pub async fn deactivate(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (id, device) = path.into_inner();
    activations::deactivate(&state, &auth, &id, &device).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Which part of the validation log to read.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Only questions about this licence.
    licence: Option<uuid::Uuid>,
    /// Only questions about (or from) this box (id or serial).
    device: Option<String>,
    /// At most this many, newest first (1 to 1000; 100 by default).
    limit: Option<u64>,
}

/// `GET /api/v1/licences/validations`: the validation log, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/licences/validations",
    tag = "licences",
    params(LogQuery),
    security(("operator" = [])),
    responses((status = 200, description = "The questions asked and the codes answered, newest first", body = Vec<ValidationLogEntry>))
)]
pub async fn validations(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<LogQuery>,
) -> Result<HttpResponse> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Error::Validation("limit: 1 to 1000".into()));
    }
    let device = device_named(&state, q.device.as_deref()).await?;
    Ok(HttpResponse::Ok().json(validation::log(&state.db, q.licence, device, limit).await?))
}

/// `POST /api/v1/licences/validate`: whether a licence is valid for a
/// product, a box and entitlements now, with the code saying why.
#[utoipa::path(
    post,
    path = "/api/v1/licences/validate",
    tag = "licences",
    request_body = ValidateBody,
    security(("operator" = [])),
    responses((status = 200, description = "The verdict: valid, code, detail; the caller's nonce echoed and the answer signed over it", body = Validation))
)]
pub async fn validate(
    auth: Auth<access::Viewer>,
    state: web::Data<AppState>,
    body: web::Json<ValidateBody>,
) -> Result<HttpResponse> {
    let now = state.clock.now();
    let b = body.into_inner();
    let product = b.product.clone();
    let mut v = validation::validate(&state.db, now, b, &auth.name).await?;
    let key = state.online_key.get();
    validation::sign(&mut v, product.as_deref(), key.as_ref().map(|k| &*k.key))?;
    Ok(HttpResponse::Ok().json(v))
}

/// `POST /api/v1/device/licences/validate`: a box asks, over its own
/// credential, whether it may use a product now.
#[utoipa::path(
    post,
    path = "/api/v1/device/licences/validate",
    tag = "device",
    request_body = DeviceValidateBody,
    security(("device" = [])),
    responses((status = 200, description = "The verdict for this box: valid, code, detail; the nonce echoed and the answer signed over it", body = Validation))
)]
pub async fn validate_own(
    auth: DeviceAuth,
    state: web::Data<AppState>,
    body: web::Json<DeviceValidateBody>,
) -> Result<HttpResponse> {
    let now = state.clock.now();
    let b = body.into_inner();
    let product = b.product.clone();
    let mut v = validation::validate_for_box(&state.db, now, &auth.device, b).await?;
    let key = state.online_key.get();
    validation::sign(&mut v, Some(&product), key.as_ref().map(|k| &*k.key))?;
    Ok(HttpResponse::Ok().json(v))
}
