//! The rollout engine at the SQL edge: loads rollouts, bundles and device
//! facts, and applies the pure rules of `domain` (target, waves, offers,
//! install states). [`scheduler`] runs the waves; [`offers_for`] answers a
//! device's check-in.

pub mod gate;
pub mod scheduler;
pub mod status;

use std::collections::HashMap;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use uuid::Uuid;
use wavecast_protocol::{
    checkin::{Offer, OfferArtifact},
    envelope::Envelope,
    manifest::Manifest,
    status::InstallState,
    Sha256Digest,
};

use crate::{
    domain::{
        bundle_state::BundleState,
        offers::{plan, Candidate, Installed, Skip},
        rollout::{DeviceFacts, RolloutState, Target, WavePlan},
        waves::{bucket, is_eligible},
        window::TimeWindow,
    },
    entities::{bundle, bundle_artifact, device, rollout, rollout_bundle, rollout_device},
    error::{ApiError, ApiResult},
};

fn corrupt(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("stored {what}: {e}"))
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
    pub gate: Option<crate::domain::gate::HealthGate>,
    pub bundles: Vec<LoadedBundle>,
}

impl LoadedRollout {
    /// The candidates this rollout offers, in its order; revoked bundles are
    /// not candidates (so nothing that requires one is offered either).
    pub fn candidates(&self) -> Vec<Candidate> {
        self.bundles
            .iter()
            .filter(|b| !b.revoked)
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

    fn bundle_named(&self, name: &str, version: &semver::Version) -> Option<&LoadedBundle> {
        self.bundles
            .iter()
            .find(|b| b.manifest.name == name && b.manifest.version == *version)
    }
}

/// Loads one bundle row with its manifest and artifacts.
pub async fn load_bundle(db: &impl ConnectionTrait, id: Uuid) -> ApiResult<LoadedBundle> {
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
    Ok(LoadedBundle {
        id,
        revoked: b.state == BundleState::Revoked.as_str(),
        envelope,
        manifest,
        artifacts,
    })
}

/// Loads a rollout with everything the rules need.
pub async fn load(db: &impl ConnectionTrait, model: rollout::Model) -> ApiResult<LoadedRollout> {
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
        state: model
            .state
            .parse()
            .map_err(|e: String| corrupt("rollout state", e))?,
        target: serde_json::from_value(model.target.clone())
            .map_err(|e| corrupt("rollout target", e))?,
        waves: serde_json::from_value(model.waves.clone())
            .map_err(|e| corrupt("rollout waves", e))?,
        thresholds: serde_json::from_value(model.thresholds.clone())
            .map_err(|e| corrupt("rollout thresholds", e))?,
        window: model
            .maintenance_window
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| corrupt("rollout window", e))?,
        gate: model
            .health_gate
            .clone()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|e| corrupt("rollout health gate", e))?,
        bundles,
        model,
    })
}

/// Loads every rollout in one of `states`.
pub async fn load_in(
    db: &impl ConnectionTrait,
    states: &[RolloutState],
) -> ApiResult<Vec<LoadedRollout>> {
    let names: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
    let rows = rollout::Entity::find()
        .filter(rollout::Column::State.is_in(names))
        .order_by_asc(rollout::Column::CreatedAt)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(load(db, r).await?);
    }
    Ok(out)
}

/// The components a device reported at its latest check-in (none when it
/// has not yet).
pub fn components_of(d: &device::Model) -> Vec<wavecast_protocol::checkin::Component> {
    d.installed
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// The components a device reported, as the rules see them.
pub fn installed_of(d: &device::Model) -> Vec<Installed> {
    components_of(d)
        .into_iter()
        .map(|c| Installed {
            name: c.name,
            version: c.version,
            security_version: c.security_version,
        })
        .collect()
}

/// The tags of a device.
pub fn tags_of(d: &device::Model) -> Vec<String> {
    d.tags
        .as_ref()
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_default()
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

/// How one device stands in a rollout, for tallies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceOutcome {
    Succeeded,
    Failed,
    InProgress,
}

/// A device's outcome from its status rows and what is still to offer it.
pub fn outcome(
    r: &LoadedRollout,
    d: &device::Model,
    installed: &[Installed],
    rows: &[&rollout_device::Model],
) -> DeviceOutcome {
    let state = |row: &&rollout_device::Model| row.state.parse::<InstallState>().ok();
    if rows
        .iter()
        .filter_map(state)
        .any(|s| matches!(s, InstallState::Failed | InstallState::RolledBack))
    {
        return DeviceOutcome::Failed;
    }
    let p = plan(&d.model, &d.hardware_revision, installed, &r.candidates());
    let succeeded_ids: Vec<Uuid> = rows
        .iter()
        .filter(|row| state(row) == Some(InstallState::Succeeded))
        .map(|row| row.bundle_id)
        .collect();
    let still_to_install = p
        .offers
        .iter()
        .filter_map(|c| r.bundle_named(&c.name, &c.version))
        .any(|b| !succeeded_ids.contains(&b.id));
    let blocked = p
        .skipped
        .iter()
        .any(|(_, s)| matches!(s, Skip::Unmet { .. }));
    if still_to_install || (blocked && succeeded_ids.is_empty()) {
        DeviceOutcome::InProgress
    } else {
        DeviceOutcome::Succeeded
    }
}

/// Every rollout in a state that offers updates, with its bundles.
pub async fn load_offering(db: &impl ConnectionTrait) -> ApiResult<Vec<LoadedRollout>> {
    let offering: Vec<RolloutState> = RolloutState::ALL
        .into_iter()
        .filter(|s| s.offers())
        .collect();
    load_in(db, &offering).await
}

/// The offers for a device at check-in, in install order, from those of the
/// offering `rollouts` whose open waves include the device. Reads the
/// database only when some rollout has something for the device.
pub async fn offers_for(
    db: &impl ConnectionTrait,
    rollouts: &[LoadedRollout],
    device_id: Uuid,
    facts: &DeviceFacts<'_>,
    timezone: Option<&str>,
) -> ApiResult<Vec<Offer>> {
    if rollouts.is_empty() {
        return Ok(Vec::new());
    }
    let now = chrono::Utc::now();
    // The pure part first: which rollouts apply to this box at all.
    let applicable: Vec<(&LoadedRollout, Vec<Candidate>)> = rollouts
        .iter()
        .filter(|r| {
            r.target.matches(facts)
                && is_eligible(
                    bucket(r.model.id, device_id),
                    &r.thresholds,
                    r.model.open_waves.max(0) as usize,
                )
                // Outside its maintenance window a box is told nothing yet.
                && r
                    .window
                    .is_none_or(|w| w.is_open(timezone, now))
        })
        .map(|r| {
            let p = plan(
                facts.model,
                facts.revision,
                facts.installed,
                &r.candidates(),
            );
            (r, p.offers)
        })
        .filter(|(_, offers)| !offers.is_empty())
        .collect();
    if applicable.is_empty() {
        return Ok(Vec::new());
    }
    let rows = rollout_device::Entity::find()
        .filter(rollout_device::Column::DeviceId.eq(device_id))
        .all(db)
        .await?;
    let ended: HashMap<(Uuid, Uuid), InstallState> = rows
        .iter()
        .filter_map(|r| {
            Some((
                (r.rollout_id, r.bundle_id),
                r.state.parse::<InstallState>().ok()?,
            ))
        })
        .filter(|(_, s)| s.is_terminal())
        .collect();
    let mut offers = Vec::new();
    for (r, candidates) in applicable {
        // A box that has not started is held back while the rollout is at its
        // download limit; boxes already under way are never held back.
        let started = rows.iter().any(|row| row.rollout_id == r.model.id);
        if let (Some(limit), false) = (r.model.max_concurrent_downloads, started) {
            let downloading = rollout_device::Entity::find()
                .filter(rollout_device::Column::RolloutId.eq(r.model.id))
                .filter(rollout_device::Column::State.is_in([
                    InstallState::Downloading.as_str(),
                    InstallState::Downloaded.as_str(),
                ]))
                .count(db)
                .await?;
            if downloading >= limit.max(0) as u64 {
                continue;
            }
        }
        for c in candidates {
            let Some(b) = r.bundle_named(&c.name, &c.version) else {
                continue;
            };
            if ended.contains_key(&(r.model.id, b.id)) {
                continue; // this attempt ended; never offered again in this rollout
            }
            offers.push(Offer {
                rollout_id: r.model.id.to_string(),
                bundle_id: b.id.to_string(),
                manifest: b.envelope.clone(),
                artifacts: b
                    .artifacts
                    .iter()
                    .map(|a| {
                        let sha256 =
                            Sha256Digest::parse(&a.sha256).map_err(|e| corrupt("digest", e))?;
                        Ok(OfferArtifact {
                            name: a.name.clone(),
                            size: a.size as u64,
                            url: format!("/api/v1/artifacts/{sha256}"),
                            sha256,
                        })
                    })
                    .collect::<ApiResult<Vec<_>>>()?,
                allow_downgrade: r.model.allow_downgrade,
            });
        }
    }
    Ok(offers)
}

/// Whether the rollout could have offered `bundle_id` to the device: the
/// bundle is the rollout's, compatible with the device, and the device is in
/// the target and an opened wave. Independent of the rollout's current state,
/// so a box that was offered an update before a pause or abort can still
/// report how its install ends.
pub async fn could_have_offered(
    db: &impl ConnectionTrait,
    d: &device::Model,
    rollout_id: Uuid,
    bundle_id: Uuid,
) -> ApiResult<bool> {
    let Some(model) = rollout::Entity::find_by_id(rollout_id).one(db).await? else {
        return Ok(false);
    };
    let r = load(db, model).await?;
    let Some(b) = r.bundles.iter().find(|b| b.id == bundle_id) else {
        return Ok(false);
    };
    let installed = installed_of(d);
    Ok(b.manifest.is_compatible(&d.model, &d.hardware_revision)
        && targets(&r, d, &tags_of(d), &installed)
        && is_eligible(
            bucket(r.model.id, d.id),
            &r.thresholds,
            r.model.open_waves.max(0) as usize,
        ))
}
