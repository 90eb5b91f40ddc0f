//! `/api/v1/bundles`: upload (streamed and verified), list, show, and the
//! lifecycle actions publish, deprecate and revoke.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use wavecast_protocol::{envelope::Envelope, Problem};

use super::{
    lifecycle,
    rules::BundleAction,
    store::{find, view_of},
    upload::{self, Outcome},
};
use crate::{
    identity::auth::{access, Auth},
    platform::error::{Error, Result},
    state::AppState,
    updates::views::{BundleActionRequest, BundleView},
};

/// The query of `POST /api/v1/bundles`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// `server` to have the server sign the manifest with its online key.
    #[param(pattern = "^server$")]
    sign: Option<String>,
}

/// A bundle file as `wavecast bundle build` writes it: its signed header
/// (keyring and manifest), then the artifacts' bytes.
#[derive(Debug, utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct BundleFile(pub Vec<u8>);

/// `POST /api/v1/bundles`: the body is a bundle file (application/octet-stream).
#[utoipa::path(
    post,
    path = "/api/v1/bundles",
    tag = "updates",
    params(UploadQuery),
    request_body(content = BundleFile, content_type = "application/octet-stream",
                 description = "The bundle file, streamed"),
    security(("operator" = [])),
    responses(
        (status = 201, description = "The bundle is verified and staged", body = BundleView),
        (status = 200, description = "The same bundle (same manifest) was already stored", body = BundleView),
        (status = 409, description = "No keyring is published yet, or the name and version exist \
                                      with different content",
         body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn upload(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let sign_on_server = match query.sign.as_deref() {
        None => false,
        Some("server") => true,
        Some(other) => {
            return Err(Error::Validation(format!(
                "sign={other:?} is not understood; the only value is \"server\""
            )))
        }
    };
    let limit = state.config.bundles.max_upload_bytes;
    if let Some(declared) = upload::declared_over(&req, limit) {
        return Err(Error::TooLarge(format!(
            "the upload declares {declared} bytes; the configured limit is {limit} bytes \
             (bundles.max_upload_bytes)"
        )));
    }
    match upload::upload(&state, &auth, payload, sign_on_server).await? {
        Outcome::Created(b) => Ok(HttpResponse::Created().json(view_of(&state.db, b).await?)),
        Outcome::Existing(b) => Ok(HttpResponse::Ok().json(view_of(&state.db, b).await?)),
    }
}

/// The filters of `GET /api/v1/bundles` (each optional).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only bundles of this kind: `firmware`, `codec`, `drm`, `app` or `config`.
    kind: Option<String>,
    /// Only bundles of this name.
    name: Option<String>,
    /// Only bundles in this state: `staged`, `published`, `deprecated` or `revoked`.
    state: Option<String>,
}

/// `GET /api/v1/bundles`
#[utoipa::path(
    get,
    path = "/api/v1/bundles",
    tag = "updates",
    params(ListQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "Bundles by name, newest first within a name", body = Vec<BundleView>),
    )
)]
pub async fn list(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let views = super::store::list(
        &state.db,
        q.kind.as_deref(),
        q.name.as_deref(),
        q.state.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(views))
}

/// `GET /api/v1/bundles/{id or name@version}`
#[utoipa::path(
    get,
    path = "/api/v1/bundles/{reference}",
    tag = "updates",
    params(("reference" = String, Path, description = "Bundle id or name@version")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The bundle", body = BundleView),
    )
)]
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    reference: web::Path<String>,
) -> Result<HttpResponse> {
    let b = find(&state.db, &reference).await?;
    Ok(HttpResponse::Ok().json(view_of(&state.db, b).await?))
}

/// `GET /api/v1/bundles/{ref}/manifest`: the signed manifest envelope.
#[utoipa::path(
    get,
    path = "/api/v1/bundles/{reference}/manifest",
    tag = "updates",
    params(("reference" = String, Path, description = "Bundle id or name@version")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The bundle's signed manifest envelope, as uploaded", body = Envelope),
    )
)]
pub async fn manifest(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    reference: web::Path<String>,
) -> Result<HttpResponse> {
    let b = find(&state.db, &reference).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(b.manifest_envelope))
}

/// `POST /api/v1/bundles/{ref}/{action}`
#[utoipa::path(
    post,
    path = "/api/v1/bundles/{reference}/{action}",
    tag = "updates",
    params(
        ("reference" = String, Path, description = "Bundle id or name@version"),
        ("action" = String, Path, description = "publish, deprecate or revoke"),
    ),
    request_body(content = Option<BundleActionRequest>, description = "Optional: why (kept in the audit log)"),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The bundle after the action", body = BundleView),
        (status = 409, description = "Not allowed in the bundle's state", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn act(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Option<web::Json<BundleActionRequest>>,
) -> Result<HttpResponse> {
    let (reference, action_name) = path.into_inner();
    let action: BundleAction = action_name.parse().map_err(Error::NotFound)?;
    let reason = body.and_then(|b| b.into_inner().reason);
    let updated = lifecycle::act(&state, &auth, &reference, action, reason).await?;
    Ok(HttpResponse::Ok().json(view_of(&state.db, updated).await?))
}
