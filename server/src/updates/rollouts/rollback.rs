//! `POST /api/v1/rollouts/{id}/rollback`: aborting a rollout and offering
//! each bundle's previous version to the boxes that took it.

use actix_web::{web, HttpResponse};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;
use wavecast_protocol::status::InstallState;

use super::{
    create::insert,
    rules::{RolloutState, Target, WavePlan},
    store::{self, find},
    view::detail,
};
use crate::{
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
        caller::Caller,
    },
    platform::{
        entities::{bundle, columns::Stored, device, rollout, rollout_device},
        error::{Error, Result},
    },
    state::AppState,
    updates::{bundles::rules::BundleState, views::CreateRollout},
};

/// `POST /api/v1/rollouts/{id}/rollback`: aborts the rollout and creates one
/// offering each bundle's previous version to the devices that installed
/// this one, with downgrade permission. Boxes never go below their installed
/// security version: the offer rules skip such a downgrade.
pub async fn rollback(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let created = roll_back(&state, &auth, &id).await?;
    Ok(HttpResponse::Created().json(detail(&state.db, created, state.clock.now()).await?))
}

/// Rolls the rollout `id` back as `caller` (the API's and the console's):
/// returns the new rollout.
pub async fn roll_back(state: &AppState, caller: &Caller, id: &str) -> Result<rollout::Model> {
    let auth = caller;
    let r = find(&state.db, id).await?;
    let from = r.state;
    if from == RolloutState::Scheduled {
        return Err(Error::Conflict(
            "the rollout has not started; abort it instead".into(),
        ));
    }
    let loaded = store::load(&state.db, r.clone()).await?;
    let mut previous = Vec::new();
    for b in &loaded.bundles {
        let older = bundle::Entity::find()
            .filter(bundle::Column::Name.eq(&b.manifest.name))
            .filter(bundle::Column::State.is_in([BundleState::Published, BundleState::Deprecated]))
            .all(&state.db)
            .await?
            .into_iter()
            .filter_map(|c| c.version.parse::<semver::Version>().ok().map(|v| (v, c)))
            .filter(|(v, _)| *v < b.manifest.version)
            .max_by(|a, b| a.0.cmp(&b.0));
        match older {
            Some((v, _)) => previous.push(format!("{}@{v}", b.manifest.name)),
            None => {
                return Err(Error::Conflict(format!(
                    "no earlier published version of {} to roll back to",
                    b.manifest.name
                )))
            }
        }
    }
    let took: Vec<Uuid> = rollout_device::Entity::find()
        .filter(rollout_device::Column::RolloutId.eq(r.id))
        .filter(rollout_device::Column::State.eq(Stored(InstallState::Succeeded)))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|row| row.device_id)
        .collect();
    let serials: Vec<String> = device::Entity::find()
        .filter(device::Column::Id.is_in(took))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|d| d.serial)
        .collect();
    if serials.is_empty() {
        return Err(Error::Conflict(
            "no device installed this rollout; nothing to roll back".into(),
        ));
    }
    let body = CreateRollout {
        name: format!("rollback of {}", r.name)
            .chars()
            .take(200)
            .collect(),
        bundles: previous,
        target: Target {
            serials,
            ..Default::default()
        },
        waves: vec![WavePlan {
            percent: Some(100.0),
            count: None,
            soak_secs: 0,
            success_threshold_pct: 95,
            failure_threshold_pct: 100,
            needs_approval: false,
        }],
        starts_at: None,
        device_timeout_secs: Some(r.device_timeout_secs.max(1) as u64),
        allow_downgrade: true,
        window: loaded.window,
        max_concurrent_downloads: r.max_concurrent_downloads.map(|n| n.max(1) as u32),
        health_gate: None,
        unreached_after_secs: r.unreached_after_secs.map(|s| s.max(0) as u64),
        keep_offering: Some(r.keep_offering),
    };
    // The new rollout first (it may be refused); then the old one ends,
    // with the rollback's audit entry, in one transaction.
    let created = insert(state, auth, body, Some(r.id)).await?;
    let now = state.clock.now();
    let reason = format!("rolled back by {}", auth.name);
    let rollback = created.id;
    audited(&state.db, auth, now, move |txn| {
        Box::pin(async move {
            let id = r.id;
            if from != RolloutState::Aborted && from != RolloutState::Completed {
                let mut m: rollout::ActiveModel = r.into();
                m.state = Set(RolloutState::Aborted);
                m.reason = Set(Some(reason));
                m.updated_at = Set(now);
                m.update(txn).await?;
            }
            let entry = Entry::new("rollout.rollback", "rollout", id.to_string())
                .details(&RolledBack { rollback });
            Ok(((), entry))
        })
    })
    .await?;
    state.caches.offering.invalidate();
    Ok(created)
}

/// What the audit log keeps of a rollback.
#[derive(Debug, serde::Serialize)]
struct RolledBack {
    rollback: Uuid,
}
