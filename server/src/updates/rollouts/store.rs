//! Rollouts at the SQL edge: loading a rollout with its parsed plan and
//! bundles (what the scheduler, the check-in and the API all read),
//! whether a box is in its target, and how a box's install stands.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;
use wavecast_protocol::{envelope::Envelope, manifest::Manifest, status::InstallState};

use super::{
    gate::HealthGate,
    progress::DeviceOutcome,
    rules::{DeviceFacts, RolloutState, Target, WavePlan},
    window::TimeWindow,
};
use crate::{
    fleet::devices::rules::Client,
    platform::{
        entities::{bundle, bundle_artifact, device, rollout, rollout_bundle, rollout_device},
        error::{Error, Result},
        json::{from_json, from_json_opt},
    },
    updates::{
        bundles::rules::{client_of, BundleState},
        checkin::offers::{plan, Candidate, Installed, Skip},
    },
};

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::corrupt(what, e)
}

/// A bundle of a rollout with what check-ins and tallies need.
#[derive(Debug, Clone)]
pub struct LoadedBundle {
    pub id: Uuid,
    pub envelope: Envelope,
    pub manifest: Manifest,
    pub artifacts: Vec<bundle_artifact::Model>,
    /// Revoked after the rollout was created: never offered again.
    pub revoked: bool,
    /// The kind of box it is for (from its artifacts' install targets).
    pub client: Client,
}

/// A rollout with its parsed plan and bundles.
#[derive(Debug, Clone)]
pub struct LoadedRollout {
    pub model: rollout::Model,
    pub state: RolloutState,
    pub target: Target,
    pub waves: Vec<WavePlan>,
    pub thresholds: Vec<u32>,
    pub window: Option<TimeWindow>,
    pub gate: Option<HealthGate>,
    pub bundles: Vec<LoadedBundle>,
}

impl LoadedRollout {
    /// The candidates this rollout offers to boxes running `client`, in its
    /// order; revoked bundles are not candidates (so nothing that requires
    /// one is offered either), nor are bundles for the other kind of box.
    pub fn candidates(&self, client: Client) -> Vec<Candidate> {
        self.bundles
            .iter()
            .filter(|b| !b.revoked && b.client == client)
            .map(|b| Candidate {
                name: b.manifest.name.clone(),
                version: b.manifest.version.clone(),
                security_version: b.manifest.security_version,
                compatible: b.manifest.compatible.clone(),
                requires: b.manifest.requires.clone(),
                allow_downgrade: self.model.allow_downgrade,
            })
            .collect()
    }

    pub fn bundle_named(&self, name: &str, version: &semver::Version) -> Option<&LoadedBundle> {
        self.bundles
            .iter()
            .find(|b| b.manifest.name == name && b.manifest.version == *version)
    }
}

/// Loads one bundle row with its manifest and artifacts.
pub async fn load_bundle(db: &impl ConnectionTrait, id: Uuid) -> Result<LoadedBundle> {
    let b = bundle::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| corrupt("rollout bundle", format!("bundle {id} is missing")))?;
    let envelope: Envelope =
        serde_json::from_str(&b.manifest_envelope).map_err(|e| corrupt("manifest", e))?;
    let manifest = Manifest::parse(
        &envelope
            .payload_bytes()
            .map_err(|e| corrupt("manifest", e))?,
    )
    .map_err(|e| corrupt("manifest", e))?;
    let artifacts = bundle_artifact::Entity::find()
        .filter(bundle_artifact::Column::BundleId.eq(id))
        .order_by_asc(bundle_artifact::Column::Idx)
        .all(db)
        .await?;
    let client =
        client_of(artifacts.iter().map(|a| a.target.as_str())).map_err(|e| corrupt("bundle", e))?;
    Ok(LoadedBundle {
        id,
        revoked: b.state == BundleState::Revoked,
        client,
        envelope,
        manifest,
        artifacts,
    })
}

/// Loads a rollout with everything the rules need.
pub async fn load(db: &impl ConnectionTrait, model: rollout::Model) -> Result<LoadedRollout> {
    let rows = rollout_bundle::Entity::find()
        .filter(rollout_bundle::Column::RolloutId.eq(model.id))
        .order_by_asc(rollout_bundle::Column::Idx)
        .all(db)
        .await?;
    let mut bundles = Vec::with_capacity(rows.len());
    for r in rows {
        bundles.push(load_bundle(db, r.bundle_id).await?);
    }
    Ok(LoadedRollout {
        state: model.state,
        target: from_json(&model.target, "rollout target")?,
        waves: from_json(&model.waves, "rollout waves")?,
        thresholds: from_json(&model.thresholds, "rollout thresholds")?,
        window: from_json_opt(model.maintenance_window.as_ref(), "rollout window")?,
        gate: from_json_opt(model.health_gate.as_ref(), "rollout health gate")?,
        bundles,
        model,
    })
}

/// Loads every rollout in one of `states`.
pub async fn load_in(
    db: &impl ConnectionTrait,
    states: &[RolloutState],
) -> Result<Vec<LoadedRollout>> {
    let rows = rollout::Entity::find()
        .filter(rollout::Column::State.is_in(states.iter().copied()))
        .order_by_asc(rollout::Column::CreatedAt)
        .all(db)
        .await?;
    load_all(db, rows).await
}

/// Each of `rows` with its bundles and rules.
async fn load_all(
    db: &impl ConnectionTrait,
    rows: Vec<rollout::Model>,
) -> Result<Vec<LoadedRollout>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(load(db, r).await?);
    }
    Ok(out)
}

/// Rollouts that ended (completed, aborted) at `since` or later.
pub async fn ended_since(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<LoadedRollout>> {
    let ended = RolloutState::ALL.into_iter().filter(|s| s.is_terminal());
    let rows = rollout::Entity::find()
        .filter(rollout::Column::State.is_in(ended))
        .filter(rollout::Column::UpdatedAt.gte(since))
        .order_by_asc(rollout::Column::CreatedAt)
        .all(db)
        .await?;
    load_all(db, rows).await
}

/// Whether `d` is in the rollout's target.
pub fn targets(
    r: &LoadedRollout,
    d: &device::Model,
    tags: &[String],
    installed: &[Installed],
) -> bool {
    r.target.matches(&DeviceFacts {
        serial: &d.serial,
        model: &d.model,
        revision: &d.hardware_revision,
        region: d.region.as_deref(),
        tags,
        installed,
    })
}

/// What a rollout still has for a box with a given model, revision and
/// inventory: the bundles to install, and whether one is blocked by an
/// unmet requirement. The same for every box alike, so a pass over a large
/// target computes it once per kind of box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needs {
    pub bundles: Vec<Uuid>,
    pub blocked: bool,
}

/// [`Needs`] of a box running `client` with `model`, `revision` and
/// `installed`.
pub fn needs(
    r: &LoadedRollout,
    client: Client,
    model: &str,
    revision: &str,
    installed: &[Installed],
) -> Needs {
    let p = plan(model, revision, installed, &r.candidates(client));
    Needs {
        bundles: p
            .offers
            .iter()
            .filter_map(|c| r.bundle_named(&c.name, &c.version))
            .map(|b| b.id)
            .collect(),
        blocked: p
            .skipped
            .iter()
            .any(|(_, s)| matches!(s, Skip::Unmet { .. })),
    }
}

/// A device's outcome from its status rows and what it [`needs`].
pub fn outcome_of(needs: &Needs, rows: &[&rollout_device::Model]) -> DeviceOutcome {
    if rows
        .iter()
        .any(|row| matches!(*row.state, InstallState::Failed | InstallState::RolledBack))
    {
        return DeviceOutcome::Failed;
    }
    let succeeded_ids: Vec<Uuid> = rows
        .iter()
        .filter(|row| *row.state == InstallState::Succeeded)
        .map(|row| row.bundle_id)
        .collect();
    let still_to_install = needs.bundles.iter().any(|b| !succeeded_ids.contains(b));
    if still_to_install || (needs.blocked && succeeded_ids.is_empty()) {
        DeviceOutcome::InProgress
    } else {
        DeviceOutcome::Succeeded
    }
}

/// Every rollout in a state that offers updates, with its bundles; a
/// completed rollout only if it keeps offering.
pub async fn load_offering(db: &impl ConnectionTrait) -> Result<Vec<LoadedRollout>> {
    let offering: Vec<RolloutState> = RolloutState::ALL
        .into_iter()
        .filter(|s| s.offers())
        .collect();
    let mut all = load_in(db, &offering).await?;
    all.retain(|r| r.state != RolloutState::Completed || r.model.keep_offering);
    Ok(all)
}

/// The rollout `reference` names (its id), or 404.
pub async fn find(db: &impl ConnectionTrait, reference: &str) -> Result<rollout::Model> {
    let id = Uuid::parse_str(reference)
        .map_err(|_| Error::NotFound(format!("no rollout {reference:?}")))?;
    rollout::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no rollout {reference:?}")))
}
