//! Bundles at the SQL edge: finding one by id or `name@version`, listing
//! them, and the view the API shows (its manifest read back from the
//! signed envelope).

use std::collections::HashSet;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use wavecast_protocol::{envelope::Envelope, manifest::Manifest, Sha256Digest};

use crate::{
    platform::{
        entities::{bundle, bundle_artifact, columns::Stored},
        error::{Error, Result},
    },
    updates::{
        bundles::rules::BundleState,
        views::{ArtifactView, BundleView},
    },
};

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::corrupt(&format!("bundle {what}"), e)
}

/// Builds the API view of a stored bundle.
pub fn bundle_view(b: bundle::Model, artifacts: Vec<bundle_artifact::Model>) -> Result<BundleView> {
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
        .collect::<Result<Vec<_>>>()?;
    Ok(BundleView {
        id: b.id,
        name: b.name,
        kind: manifest.kind,
        version: b.version,
        security_version: b.security_version as u64,
        state: b.state,
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
pub async fn find(db: &impl ConnectionTrait, reference: &str) -> Result<bundle::Model> {
    let not_found = || {
        Error::NotFound(format!(
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
    select.one(db).await?.ok_or_else(not_found)
}

/// The view of a stored bundle, with its artifacts.
pub async fn view_of(db: &impl ConnectionTrait, b: bundle::Model) -> Result<BundleView> {
    let artifacts = bundle_artifact::Entity::find()
        .filter(bundle_artifact::Column::BundleId.eq(b.id))
        .all(db)
        .await?;
    bundle_view(b, artifacts)
}

/// Bundles by name, newest first within a name, filtered by kind, name and
/// state (each optional; a value that is not a kind or state is refused).
pub async fn list(
    db: &impl ConnectionTrait,
    kind: Option<&str>,
    name: Option<&str>,
    state: Option<&str>,
) -> Result<Vec<BundleView>> {
    let mut select = bundle::Entity::find()
        .find_with_related(bundle_artifact::Entity)
        .order_by_asc(bundle::Column::Name)
        .order_by_desc(bundle::Column::CreatedAt);
    if let Some(kind) = kind.filter(|k| !k.is_empty()) {
        let kind: Stored<wavecast_protocol::manifest::Kind> =
            kind.parse().map_err(Error::Validation)?;
        select = select.filter(bundle::Column::Kind.eq(kind));
    }
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        select = select.filter(bundle::Column::Name.eq(name));
    }
    if let Some(s) = state.filter(|s| !s.is_empty()) {
        let s: BundleState = s.parse().map_err(Error::Validation)?;
        select = select.filter(bundle::Column::State.eq(s));
    }
    select
        .all(db)
        .await?
        .into_iter()
        .map(|(b, a)| bundle_view(b, a))
        .collect()
}

/// The SHA-256 of every artifact a box may download: those of bundles that
/// are published, or deprecated and still serving running rollouts.
/// Staged and revoked bundles' artifacts are for operators only.
pub async fn offered_artifacts(db: &impl ConnectionTrait) -> Result<HashSet<String>> {
    let rows: Vec<String> = bundle_artifact::Entity::find()
        .select_only()
        .column(bundle_artifact::Column::Sha256)
        .inner_join(bundle::Entity)
        .filter(bundle::Column::State.is_in([BundleState::Published, BundleState::Deprecated]))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|d| d.to_ascii_lowercase()).collect())
}
