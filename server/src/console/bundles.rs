//! `/bundles`: the bundles with state and kind, an upload with a progress
//! bar (the file streamed as the body to `/bundles/upload`, verified by the
//! same upload the API runs), one bundle's manifest and artifacts with
//! publish, deprecate and revoke, and `/keyring`: the keyring the server
//! trusts (versions, keys, roles, expiry).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{
    guard::{Posted, Signed},
    page::{render, see_other, Failure, Section, Shell},
};
use crate::{
    identity::auth::access,
    platform::error::Error,
    state::AppState,
    updates::{
        bundles::{
            lifecycle,
            rules::BundleAction,
            store::{self as bundles, find, view_of},
            upload::{self, Outcome},
        },
        trust::store as trust,
        views::{BundleView, KeyringView},
    },
};

#[derive(Template)]
#[template(path = "console/bundles.html")]
struct BundlesPage {
    shell: Shell,
    bundles: Vec<BundleView>,
    kind: String,
    state: String,
    kinds: [&'static str; 5],
    states: [&'static str; 4],
    has_keyring: bool,
}

#[derive(Debug, Deserialize)]
pub struct BundleFilters {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    state: Option<String>,
}

/// `GET /bundles`
pub async fn list(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    f: web::Query<BundleFilters>,
) -> Result<HttpResponse, Failure> {
    let kind = f.kind.clone().unwrap_or_default();
    let st = f.state.clone().unwrap_or_default();
    let list = bundles::list(&state.reads, Some(&kind), None, Some(&st)).await?;
    let has_keyring = state.anchors().await?.is_some();
    render(&BundlesPage {
        shell: signed.shell("Bundles", Section::Bundles),
        bundles: list,
        kind,
        state: st,
        kinds: ["firmware", "codec", "drm", "app", "config"],
        states: ["staged", "published", "deprecated", "revoked"],
        has_keyring,
    })
}

/// The upload's answer to the page's script: where the bundle now is.
#[derive(Debug, serde::Serialize)]
struct Uploaded {
    location: String,
}

/// `POST /bundles/upload`: the body is the bundle file, streamed and
/// verified as `POST /api/v1/bundles` does; answers JSON for the page's
/// script (the token comes in the `X-CSRF-Token` header).
pub async fn upload(
    signed: Signed<access::Operator>,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> HttpResponse {
    let limit = state.config.bundles.max_upload_bytes;
    let result = if let Some(declared) = upload::declared_over(&req, limit) {
        Err(Error::TooLarge(format!(
            "the file has {declared} bytes; the configured limit is {limit} bytes"
        )))
    } else {
        upload::upload(&state, &signed, payload, false).await
    };
    match result {
        Ok(Outcome::Created(b) | Outcome::Existing(b)) => HttpResponse::Created().json(Uploaded {
            location: format!("/bundles/{}", b.id),
        }),
        // The script shows the problem's detail.
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

#[derive(Template)]
#[template(path = "console/bundle.html")]
struct BundlePage {
    shell: Shell,
    b: BundleView,
    manifest: String,
}

/// `GET /bundles/{ref}`
pub async fn page(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
    reference: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let b = find(&state.reads, &reference).await?;
    let manifest = serde_json::from_str::<serde_json::Value>(&b.manifest_envelope)
        .ok()
        .and_then(|env| {
            let payload = env.get("payload")?.as_str()?.to_owned();
            let bytes =
                base64::Engine::decode(&base64::engine::general_purpose::STANDARD, payload).ok()?;
            let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
            serde_json::to_string_pretty(&v).ok()
        })
        .unwrap_or_default();
    let b = view_of(&state.reads, b).await?;
    render(&BundlePage {
        shell: signed.shell(format!("{} {}", b.name, b.version), Section::Bundles),
        b,
        manifest,
    })
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /bundles/{ref}/{publish|deprecate|revoke}`
pub async fn act(
    posted: Posted<access::Operator, ActionForm>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Failure> {
    let (reference, action) = path.into_inner();
    let action: BundleAction = action.parse().map_err(Error::NotFound)?;
    let reason = posted.form.reason.clone().filter(|r| !r.trim().is_empty());
    let b = lifecycle::act(&state, &posted.signed, &reference, action, reason).await?;
    Ok(see_other(&format!("/bundles/{}", b.id)))
}

#[derive(Template)]
#[template(path = "console/keyring.html")]
struct KeyringPage {
    shell: Shell,
    k: Option<KeyringView>,
    expires: String,
}

/// `GET /keyring`
pub async fn keyring(
    signed: Signed<access::Viewer>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let k = trust::load(&state.reads)
        .await?
        .as_ref()
        .and_then(trust::view);
    let expires = k
        .as_ref()
        .and_then(|k| chrono::DateTime::from_timestamp(k.expires_at, 0))
        .map_or_else(String::new, |t| t.format("%Y-%m-%d").to_string());
    render(&KeyringPage {
        shell: signed.shell("Keyring", Section::Bundles),
        k,
        expires,
    })
}
