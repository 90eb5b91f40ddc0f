//! `/api/v1/rollouts`: create, list, show; pause, resume, approve, abort
//! (roll back is [`super::rollback`]).

use actix_web::{web, HttpResponse};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Deserialize;
use uuid::Uuid;
use wavecast_protocol::{mqtt::NudgeReason, status::InstallState};

use super::{
    rules::{wave_specs, RolloutAction, RolloutState},
    scheduler, standing,
    store::{self as engine},
};
use crate::{
    http::params::checked,
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth, Caller},
    },
    platform::{
        entities::{bundle, rollout, rollout_bundle, rollout_device},
        error::{Error, Result},
        json::to_json,
        text::Line,
    },
    state::AppState,
    updates::{
        bundles::{rules::BundleState, store as bundles},
        views::{CreateRollout, RolloutCounts, RolloutView},
    },
};

const DEFAULT_DEVICE_TIMEOUT: u64 = 3600;

/// The API's view of a rollout, with its counts.
pub(super) async fn view(state: &AppState, r: rollout::Model) -> Result<RolloutView> {
    let loaded = engine::load(&state.db, r).await?;
    let rows = rollout_device::Entity::find()
        .filter(rollout_device::Column::RolloutId.eq(loaded.model.id))
        .all(&state.db)
        .await?;
    let mut counts = RolloutCounts::default();
    let mut per_device: std::collections::HashMap<Uuid, Vec<InstallState>> = Default::default();
    for row in &rows {
        per_device
            .entry(row.device_id)
            .or_default()
            .push(*row.state);
    }
    for states in per_device.values() {
        counts.reported += 1;
        if states
            .iter()
            .any(|s| matches!(s, InstallState::Failed | InstallState::RolledBack))
        {
            counts.failed += 1;
        } else if states.iter().all(|s| *s == InstallState::Succeeded) {
            counts.succeeded += 1;
        } else {
            counts.in_progress += 1;
        }
    }
    let m = &loaded.model;
    Ok(RolloutView {
        id: m.id,
        name: m.name.clone(),
        state: loaded.state,
        reason: m.reason.clone(),
        bundles: loaded
            .bundles
            .iter()
            .map(|b| format!("{}@{}", b.manifest.name, b.manifest.version))
            .collect(),
        target: loaded.target.clone(),
        waves: loaded.waves.clone(),
        open_waves: m.open_waves.max(0) as u32,
        wave_opened_at: m.wave_opened_at,
        starts_at: m.starts_at,
        device_timeout_secs: m.device_timeout_secs.max(0) as u64,
        allow_downgrade: m.allow_downgrade,
        window: loaded.window,
        max_concurrent_downloads: m.max_concurrent_downloads.map(|n| n.max(0) as u32),
        health_gate: loaded.gate.clone(),
        rollback_of: m.rollback_of,
        counts,
        created_by: m.created_by.clone(),
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

pub(super) async fn find(state: &AppState, reference: &str) -> Result<rollout::Model> {
    let id = Uuid::parse_str(reference)
        .map_err(|_| Error::NotFound(format!("no rollout {reference:?}")))?;
    rollout::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no rollout {reference:?}")))
}

/// A bundle named in a rollout request: a missing one makes the request invalid (422).
async fn bundle_by_ref(state: &AppState, reference: &str) -> Result<bundle::Model> {
    bundles::find(&state.db, reference)
        .await
        .map_err(|e| e.named_in("bundles"))
}

/// `POST /api/v1/rollouts`
pub async fn create(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    body: web::Json<CreateRollout>,
) -> Result<HttpResponse> {
    let r = insert(&state, &auth, body.into_inner(), None).await?;
    Ok(HttpResponse::Created().json(view(&state, r).await?))
}

/// Validates and records a rollout (opening its first wave when due).
pub(super) async fn insert(
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
        let loaded = engine::load(&state.db, model.clone()).await?;
        let opened = scheduler::open_next_wave(&state.db, &loaded, now).await?;
        state
            .mqtt
            .nudge(opened, NudgeReason::WaveOpened, Some(loaded.model.id));
    }
    state.caches.offering.invalidate();
    find(state, &model.id.to_string()).await
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    state: Option<String>,
}

/// `GET /api/v1/rollouts`
pub async fn list(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse> {
    let mut select = rollout::Entity::find().order_by_desc(rollout::Column::CreatedAt);
    if let Some(s) = &q.state {
        let s: RolloutState = s.parse().map_err(Error::Validation)?;
        select = select.filter(rollout::Column::State.eq(s));
    }
    let mut out = Vec::new();
    for r in select.all(&state.db).await? {
        out.push(view(&state, r).await?);
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `GET /api/v1/rollouts/{id}`
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let r = find(&state, &id).await?;
    Ok(HttpResponse::Ok().json(view(&state, r).await?))
}

/// `POST /api/v1/rollouts/{id}/{pause|resume|approve|abort}`
pub async fn act(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (id, action_name) = path.into_inner();
    if action_name == "rollback" {
        return super::rollback::rollback(auth, state, web::Path::from(id)).await;
    }
    let action: RolloutAction = action_name.parse().map_err(Error::NotFound)?;
    let r = find(&state, &id).await?;
    let from = r.state;
    let to = from.apply(action).map_err(Error::Conflict)?;
    let now = state.clock.now();
    let who = auth.name.clone();
    let rollout_id = r.id;
    let loaded = engine::load(&state.db, r.clone()).await?;
    let opened = audited(&state.db, &auth, now, move |txn| {
        Box::pin(async move {
            let mut opened = Vec::new();
            if action == RolloutAction::Approve {
                opened = scheduler::open_next_wave(txn, &loaded, now).await?;
            } else {
                let mut m: rollout::ActiveModel = r.clone().into();
                m.state = Set(to);
                m.reason = Set(match action {
                    RolloutAction::Pause => Some(format!("paused by {who}")),
                    RolloutAction::Abort => Some(format!("aborted by {who}")),
                    _ => None,
                });
                // Resuming accepts the current wave's failures (they stop
                // counting against its thresholds), soaks the wave again
                // from now and starts the health gate counting afresh.
                if action == RolloutAction::Resume {
                    m.gate_since = Set(Some(now));
                    let tally = standing::current_tally(txn, &loaded).await?;
                    m.acknowledged_failures = Set(i32::try_from(tally.failed).unwrap_or(i32::MAX));
                    m.wave_opened_at = Set(Some(now));
                }
                m.updated_at = Set(now);
                m.update(txn).await?;
            }
            let entry = Entry::new(action.audit_action(), "rollout", r.id.to_string())
                .details(&StateChange { from, to });
            Ok((opened, entry))
        })
    })
    .await?;
    if action == RolloutAction::Approve {
        state
            .mqtt
            .nudge(opened, NudgeReason::WaveOpened, Some(rollout_id));
    }
    state.caches.offering.invalidate();
    let fresh = find(&state, &id).await?;
    Ok(HttpResponse::Ok().json(view(&state, fresh).await?))
}

/// What the audit log keeps of an operator's action.
#[derive(Debug, serde::Serialize)]
struct StateChange {
    from: RolloutState,
    to: RolloutState,
}
