//! Offers at the SQL edge: which bundles of the offering rollouts one box
//! gets at check-in ([`offers_for`]: the pure rules first, the database
//! only when some rollout has something for the box), and whether a
//! rollout could have offered a bundle to a box ([`could_have_offered`],
//! which status reports are checked against). A bundle naming a licensed
//! product goes only to boxes entitled to it (`licences::offers`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
};
use uuid::Uuid;
use wavecast_protocol::{
    checkin::{Offer, OfferArtifact},
    status::InstallState,
    Sha256Digest,
};

use super::offers::{plan, Candidate};
use crate::{
    fleet::devices::{
        rules::Client,
        store::{installed_of, tags_of},
    },
    licences::offers::may_offer,
    platform::{
        entities::{columns::Stored, device, rollout, rollout_device},
        error::{Error, Result},
    },
    updates::rollouts::{
        accounts::account_matches,
        rules::DeviceFacts,
        store::{load, targets, LoadedRollout},
        waves::{bucket, is_eligible},
    },
};

/// The offers for a device running `client` at check-in, in install order,
/// from those of the offering `rollouts` whose open waves include the
/// device, and whether one of them is licensed (the box may have just been
/// activated: its licence tokens are due). Reads the database only when
/// some rollout has something for the device.
pub async fn offers_for(
    db: &DatabaseConnection,
    rollouts: &[LoadedRollout],
    client: Client,
    device_id: Uuid,
    facts: &DeviceFacts<'_>,
    timezone: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Vec<Offer>, bool)> {
    if rollouts.is_empty() {
        return Ok((Vec::new(), false));
    }
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
                &r.candidates(client),
            );
            (r, p.offers)
        })
        .filter(|(_, offers)| !offers.is_empty())
        .collect();
    if applicable.is_empty() {
        return Ok((Vec::new(), false));
    }
    let rows = rollout_device::Entity::find()
        .filter(rollout_device::Column::DeviceId.eq(device_id))
        .all(db)
        .await?;
    let ended: HashMap<(Uuid, Uuid), InstallState> = rows
        .iter()
        .map(|r| ((r.rollout_id, r.bundle_id), *r.state))
        .filter(|(_, s)| s.is_terminal())
        .collect();
    let mut offers = Vec::new();
    let mut licensed = false;
    for (r, candidates) in applicable {
        // A target naming plans or a licensed product reads the box's
        // account (only such rollouts pay for it).
        if !account_matches(db, &r.target, device_id, now).await? {
            continue;
        }
        // A box that has not started is held back while the rollout is at its
        // download limit; boxes already under way are never held back.
        let started = rows.iter().any(|row| row.rollout_id == r.model.id);
        if let (Some(limit), false) = (r.model.max_concurrent_downloads, started) {
            let downloading = rollout_device::Entity::find()
                .filter(rollout_device::Column::RolloutId.eq(r.model.id))
                .filter(rollout_device::Column::State.is_in([
                    Stored(InstallState::Downloading),
                    Stored(InstallState::Downloaded),
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
            // A licensed bundle only to boxes entitled to it.
            if let Some(product) = &b.manifest.licensed_product {
                if !may_offer(db, device_id, product, now).await? {
                    continue;
                }
                licensed = true;
            }
            offers.push(Offer {
                rollout_id: r.model.id.to_string(),
                bundle_id: b.id.to_string(),
                manifest: b.envelope.clone(),
                artifacts: b
                    .artifacts
                    .iter()
                    .map(|a| {
                        let sha256 = Sha256Digest::parse(&a.sha256)
                            .map_err(|e| Error::corrupt("digest", e))?;
                        Ok(OfferArtifact {
                            name: a.name.clone(),
                            size: a.size as u64,
                            url: format!("/api/v1/artifacts/{sha256}"),
                            sha256,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?,
                allow_downgrade: r.model.allow_downgrade,
            });
        }
    }
    Ok((offers, licensed))
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
    now: DateTime<Utc>,
) -> Result<bool> {
    let Some(model) = rollout::Entity::find_by_id(rollout_id).one(db).await? else {
        return Ok(false);
    };
    let r = load(db, model).await?;
    let Some(b) = r
        .bundles
        .iter()
        .find(|b| b.id == bundle_id && b.client == d.client)
    else {
        return Ok(false);
    };
    let installed = installed_of(d);
    Ok(b.manifest.is_compatible(&d.model, &d.hardware_revision)
        && targets(&r, d, &tags_of(d), &installed)
        && account_matches(db, &r.target, d.id, now).await?
        && is_eligible(
            bucket(r.model.id, d.id),
            &r.thresholds,
            r.model.open_waves.max(0) as usize,
        ))
}
