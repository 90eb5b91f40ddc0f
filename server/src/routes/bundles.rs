//! `/api/v1/bundles`: upload (streamed and verified), list, show, and the
//! lifecycle actions publish, deprecate and revoke.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::Deserialize;
use uuid::Uuid;
use wavecast_protocol::{envelope::Envelope, manifest::Manifest, Sha256Digest};

use crate::{
    api::{ArtifactView, BundleActionRequest, BundleView},
    audit::{self, Entry},
    auth::{access, Auth},
    domain::bundle_state::{BundleAction, BundleState},
    entities::{bundle, bundle_artifact},
    error::{ApiError, ApiResult},
    ingest::{self, Outcome},
    state::AppState,
};

fn corrupt(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("stored bundle {what}: {e}"))
}

/// Builds the API view of a stored bundle.
pub(crate) fn bundle_view(
    b: bundle::Model,
    artifacts: Vec<bundle_artifact::Model>,
) -> ApiResult<BundleView> {
    let envelope: Envelope =
        serde_json::from_str(&b.manifest_envelope).map_err(|e| corrupt("envelope", e))?;
    let manifest = Manifest::parse(
        &envelope
            .payload_bytes()
            .map_err(|e| corrupt("payload", e))?,
    )
    .map_err(|e| corrupt("manifest", e))?;
    let mut artifacts = artifacts;
    artifacts.sort_by_key(|a| a.idx);
    let artifacts = artifacts
        .into_iter()
        .map(|a| {
            let sha256 = Sha256Digest::parse(&a.sha256).map_err(|e| corrupt("digest", e))?;
            Ok(ArtifactView {
                download: format!("/api/v1/artifacts/{sha256}"),
                name: a.name,
                size: a.size as u64,
                sha256,
                target: a.target,
                compression: serde_json::from_value(serde_json::Value::String(a.compression))
                    .unwrap_or_default(),
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(BundleView {
        id: b.id,
        name: b.name,
        kind: manifest.kind,
        version: b.version,
        security_version: b.security_version as u64,
        state: b.state.parse().map_err(|e: String| corrupt("state", e))?,
        licensed_product: b.licensed_product,
        payload_size: b.payload_size as u64,
        signer_keyid: b.signer_keyid,
        keyring_version: b.keyring_version as u64,
        uploaded_by: b.uploaded_by,
        created_at: b.created_at,
        updated_at: b.updated_at,
        compatible: manifest.compatible,
        requires: manifest.requires,
        artifacts,
    })
}

/// Finds a bundle by id or by `name@version` (404 when there is none).
pub(crate) async fn find(state: &AppState, reference: &str) -> ApiResult<bundle::Model> {
    let not_found = || {
        ApiError::NotFound(format!(
            "no bundle {reference:?} (use an id or NAME@VERSION)"
        ))
    };
    let select = match (Uuid::parse_str(reference), reference.split_once('@')) {
        (Ok(id), _) => bundle::Entity::find_by_id(id),
        (Err(_), Some((name, version))) => bundle::Entity::find()
            .filter(bundle::Column::Name.eq(name))
            .filter(bundle::Column::Version.eq(version)),
        _ => return Err(not_found()),
    };
    select.one(&state.db).await?.ok_or_else(not_found)
}

async fn view_of(state: &AppState, b: bundle::Model) -> ApiResult<BundleView> {
    let artifacts = bundle_artifact::Entity::find()
        .filter(bundle_artifact::Column::BundleId.eq(b.id))
        .all(&state.db)
        .await?;
    bundle_view(b, artifacts)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// `server` to have the server sign the manifest with its online key.
    sign: Option<String>,
}

/// `POST /api/v1/bundles`: the body is a bundle file (application/octet-stream).
pub async fn upload(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let sign_on_server = match query.sign.as_deref() {
        None => false,
        Some("server") => true,
        Some(other) => {
            return Err(ApiError::Validation(format!(
                "sign={other:?} is not understood; the only value is \"server\""
            )))
        }
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = state.config.bundles.max_upload_bytes;
    if declared.is_some_and(|len| len > limit) {
        return Err(ApiError::TooLarge(format!(
            "the upload declares {} bytes; the configured limit is {limit} bytes \
             (bundles.max_upload_bytes)",
            declared.unwrap_or_default()
        )));
    }
    match ingest::upload(&state, &auth, payload, sign_on_server).await? {
        Outcome::Created(b) => Ok(HttpResponse::Created().json(view_of(&state, b).await?)),
        Outcome::Existing(b) => Ok(HttpResponse::Ok().json(view_of(&state, b).await?)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    kind: Option<String>,
    name: Option<String>,
    state: Option<String>,
}

/// `GET /api/v1/bundles`
pub async fn list(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let mut select = bundle::Entity::find()
        .find_with_related(bundle_artifact::Entity)
        .order_by_asc(bundle::Column::Name)
        .order_by_desc(bundle::Column::CreatedAt);
    if let Some(kind) = &q.kind {
        kind.parse::<wavecast_protocol::manifest::Kind>()
            .map_err(ApiError::Validation)?;
        select = select.filter(bundle::Column::Kind.eq(kind));
    }
    if let Some(name) = &q.name {
        select = select.filter(bundle::Column::Name.eq(name));
    }
    if let Some(s) = &q.state {
        s.parse::<BundleState>().map_err(ApiError::Validation)?;
        select = select.filter(bundle::Column::State.eq(s));
    }
    let views = select
        .all(&state.db)
        .await?
        .into_iter()
        .map(|(b, a)| bundle_view(b, a))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(views))
}

/// `GET /api/v1/bundles/{id or name@version}`
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    reference: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let b = find(&state, &reference).await?;
    Ok(HttpResponse::Ok().json(view_of(&state, b).await?))
}

/// `GET /api/v1/bundles/{ref}/manifest`: the signed manifest envelope.
pub async fn manifest(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    reference: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let b = find(&state, &reference).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(b.manifest_envelope))
}

/// `POST /api/v1/bundles/{ref}/{action}`
pub async fn act(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Option<web::Json<BundleActionRequest>>,
) -> ApiResult<HttpResponse> {
    let (reference, action_name) = path.into_inner();
    let action = match action_name.as_str() {
        "publish" => BundleAction::Publish,
        "deprecate" => BundleAction::Deprecate,
        "revoke" => BundleAction::Revoke,
        other => {
            return Err(ApiError::NotFound(format!(
                "no bundle action {other:?}; use publish, deprecate or revoke"
            )))
        }
    };
    let reason = body.and_then(|b| b.into_inner().reason);
    let b = find(&state, &reference).await?;
    let from: BundleState = b.state.parse().map_err(|e: String| corrupt("state", e))?;
    let to = from.apply(action).map_err(ApiError::Conflict)?;
    let caller = auth.caller.clone();
    let updated = if from == to {
        b
    } else {
        state
            .db
            .transaction::<_, bundle::Model, ApiError>(|txn| {
                Box::pin(async move {
                    let label = format!("{}@{}", b.name, b.version);
                    let mut model: bundle::ActiveModel = b.into();
                    model.state = Set(to.as_str().to_owned());
                    model.updated_at = Set(Utc::now());
                    let model = model.update(txn).await?;
                    audit::record(
                        txn,
                        &caller,
                        Entry {
                            action: match action {
                                BundleAction::Publish => "bundle.publish",
                                BundleAction::Deprecate => "bundle.deprecate",
                                BundleAction::Revoke => "bundle.revoke",
                            },
                            object_type: "bundle",
                            object_id: label,
                            details: audit::details(&serde_json::json!({
                                "from": from, "to": to, "reason": reason,
                            })),
                        },
                    )
                    .await?;
                    Ok(model)
                })
            })
            .await?
    };
    // A revoked bundle is never offered again: check-ins must see it now.
    state.caches.offering.invalidate();
    Ok(HttpResponse::Ok().json(view_of(&state, updated).await?))
}
