//! Creating a rollout: validating what an operator asked for (name, bundles
//! that may be rolled out, waves, timeout, limits, health gate), recording
//! it with its audit entry, and opening its first wave at once when due.
//! Used by `POST /api/v1/rollouts` and by a rollback.

use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};
use uuid::Uuid;
use wavecast_protocol::mqtt::NudgeReason;

use super::{
    rules::{wave_specs, RolloutState, Target},
    scheduler,
    store::{find, load},
};
use crate::{
    http::params::checked,
    identity::{
        audit::store::{audited, Entry},
        caller::Caller,
    },
    platform::{
        entities::{bundle, plan, product, rollout, rollout_bundle},
        error::{Error, Result},
        json::to_json,
        text::Line,
    },
    state::AppState,
    updates::{
        bundles::{rules::BundleState, store as bundles},
        views::CreateRollout,
    },
};

/// A silent box's timeout when the rollout names none: an hour.
const DEFAULT_DEVICE_TIMEOUT: u64 = 3600;

/// A bundle named in a rollout request: a missing one makes the request invalid (422).
async fn bundle_by_ref(state: &AppState, reference: &str) -> Result<bundle::Model> {
    bundles::find(&state.db, reference)
        .await
        .map_err(|e| e.named_in("bundles"))
}

/// Refuses a target naming a plan or a product that does not exist.
async fn check_accounts(db: &impl sea_orm::ConnectionTrait, t: &Target) -> Result<()> {
    for p in &t.plans {
        if plan::Entity::find_by_id(p.clone()).one(db).await?.is_none() {
            return Err(Error::Validation(format!(
                "target.plans: there is no plan {p:?}"
            )));
        }
    }
    if let Some(code) = &t.entitled_to {
        let known = product::Entity::find()
            .filter(product::Column::Code.eq(code.as_str()))
            .one(db)
            .await?;
        if known.is_none() {
            return Err(Error::Validation(format!(
                "target.entitled_to: there is no product {code:?}"
            )));
        }
    }
    Ok(())
}

/// Validates and records a rollout (opening its first wave when due).
pub async fn insert(
    state: &AppState,
    caller: &Caller,
    body: CreateRollout,
    rollback_of: Option<Uuid>,
) -> Result<rollout::Model> {
    let name = checked(Line::parse("name", &body.name, 200))?.into_string();
    wave_specs(&body.waves).map_err(Error::Validation)?;
    if body.bundles.is_empty() {
        return Err(Error::Validation(
            "a rollout needs at least one bundle".into(),
        ));
    }
    let mut bundles = Vec::new();
    for reference in &body.bundles {
        let b = bundle_by_ref(state, reference).await?;
        let usable = b.state == BundleState::Published
            || (rollback_of.is_some() && b.state == BundleState::Deprecated);
        if !usable {
            return Err(Error::Conflict(format!(
                "bundle {}@{} is {}; only published bundles can be rolled out",
                b.name, b.version, b.state
            )));
        }
        if bundles.iter().any(|x: &bundle::Model| x.id == b.id) {
            return Err(Error::Validation(format!(
                "bundle {reference:?} is named twice"
            )));
        }
        bundles.push(b);
    }
    check_accounts(&state.db, &body.target).await?;
    let timeout = body.device_timeout_secs.unwrap_or(DEFAULT_DEVICE_TIMEOUT);
    if !(1..=30 * 86_400).contains(&timeout) {
        return Err(Error::Validation(
            "device_timeout_secs must be between 1 and 2592000 (30 days)".into(),
        ));
    }
    if body.max_concurrent_downloads == Some(0) {
        return Err(Error::Validation(
            "max_concurrent_downloads must be at least 1".into(),
        ));
    }
    if let Some(g) = &body.health_gate {
        g.validate().map_err(Error::Validation)?;
    }
    let unreached_after = match body.unreached_after_secs {
        Some(s) if !(60..=365 * 86_400).contains(&s) => {
            return Err(Error::Validation(
                "unreached_after_secs must be between 60 and 31536000 (a year)".into(),
            ))
        }
        s => s.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
    };
    let caller_name = caller.name.clone();
    let now = state.clock.now();
    let model = audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            let id = Uuid::now_v7();
            let m = rollout::ActiveModel {
                id: Set(id),
                name: Set(name),
                state: Set(RolloutState::Scheduled),
                target: Set(to_json(&body.target)?),
                waves: Set(to_json(&body.waves)?),
                thresholds: Set(to_json(&Vec::<u32>::new())?),
                open_waves: Set(0),
                wave_opened_at: Set(None),
                acknowledged_failures: Set(0),
                starts_at: Set(body.starts_at.unwrap_or(now)),
                device_timeout_secs: Set(i64::try_from(timeout).unwrap_or(i64::MAX)),
                allow_downgrade: Set(body.allow_downgrade),
                maintenance_window: Set(body.window.map(|w| to_json(&w)).transpose()?),
                max_concurrent_downloads: Set(body
                    .max_concurrent_downloads
                    .map(|n| i32::try_from(n).unwrap_or(i32::MAX))),
                rollback_of: Set(rollback_of),
                reason: Set(None),
                health_gate: Set(body.health_gate.as_ref().map(to_json).transpose()?),
                gate_since: Set(None),
                unreached_after_secs: Set(unreached_after),
                keep_offering: Set(body.keep_offering.unwrap_or(true)),
                created_by: Set(caller_name),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(txn)
            .await?;
            for (idx, b) in bundles.iter().enumerate() {
                rollout_bundle::ActiveModel {
                    rollout_id: Set(id),
                    idx: Set(idx as i32),
                    bundle_id: Set(b.id),
                }
                .insert(txn)
                .await?;
            }
            let entry = Entry::new("rollout.create", "rollout", id.to_string()).details(&Created {
                name: m.name.clone(),
                bundles: bundles
                    .iter()
                    .map(|b| format!("{}@{}", b.name, b.version))
                    .collect(),
                waves: m.waves.clone(),
                target: m.target.clone(),
                rollback_of,
            });
            Ok((m, entry))
        })
    })
    .await?;
    // Start at once when due, rather than at the next scheduler pass.
    if model.starts_at <= now {
        let loaded = load(&state.db, model.clone()).await?;
        let txn = state.db.begin().await?;
        let opened = scheduler::open_next_wave(&txn, &loaded, now).await?;
        txn.commit().await?;
        // None: no box matches the target yet; the scheduler opens the
        // first wave once one does.
        if let Some(opened) = opened {
            state
                .mqtt
                .nudge(opened, NudgeReason::WaveOpened, Some(loaded.model.id));
        }
    }
    state.caches.offering.invalidate();
    find(&state.db, &model.id.to_string()).await
}

/// What the audit log keeps of a new rollout.
#[derive(Debug, serde::Serialize)]
struct Created {
    name: String,
    bundles: Vec<String>,
    waves: serde_json::Value,
    target: serde_json::Value,
    rollback_of: Option<Uuid>,
}
