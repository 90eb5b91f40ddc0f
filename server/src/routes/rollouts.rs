//! `/api/v1/rollouts`: create, list, show; pause, resume, approve, abort.

use actix_web::{web, HttpResponse};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde::Deserialize;
use uuid::Uuid;
use wavecast_protocol::{mqtt::NudgeReason, status::InstallState};

use crate::{
    api::{CreateRollout, RolloutCounts, RolloutView},
    audit::{self, Entry},
    auth::{access, Auth},
    domain::{
        bundle_state::BundleState,
        names::parse_label,
        rollout::{wave_specs, RolloutAction, RolloutState},
    },
    engine::{self, scheduler},
    entities::{bundle, rollout, rollout_bundle, rollout_device},
    error::{ApiError, ApiResult},
    state::AppState,
};

const DEFAULT_DEVICE_TIMEOUT: u64 = 3600;

async fn view(state: &AppState, r: rollout::Model) -> ApiResult<RolloutView> {
    let loaded = engine::load(&state.db, r).await?;
    let rows = rollout_device::Entity::find()
        .filter(rollout_device::Column::RolloutId.eq(loaded.model.id))
        .all(&state.db)
        .await?;
    let mut counts = RolloutCounts::default();
    let mut per_device: std::collections::HashMap<Uuid, Vec<InstallState>> = Default::default();
    for row in &rows {
        if let Ok(s) = row.state.parse::<InstallState>() {
            per_device.entry(row.device_id).or_default().push(s);
        }
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

async fn find(state: &AppState, reference: &str) -> ApiResult<rollout::Model> {
    let id = Uuid::parse_str(reference)
        .map_err(|_| ApiError::NotFound(format!("no rollout {reference:?}")))?;
    rollout::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no rollout {reference:?}")))
}

/// A bundle named in a rollout request: a missing one makes the request invalid (422).
async fn bundle_by_ref(state: &AppState, reference: &str) -> ApiResult<bundle::Model> {
    super::bundles::find(state, reference)
        .await
        .map_err(|e| match e {
            ApiError::NotFound(msg) => ApiError::Validation(msg),
            other => other,
        })
}

/// `POST /api/v1/rollouts`
pub async fn create(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    body: web::Json<CreateRollout>,
) -> ApiResult<HttpResponse> {
    let r = insert(&state, &auth, body.into_inner(), None).await?;
    Ok(HttpResponse::Created().json(view(&state, r).await?))
}

/// Validates and records a rollout (opening its first wave when due).
async fn insert(
    state: &AppState,
    caller: &crate::auth::Caller,
    body: CreateRollout,
    rollback_of: Option<Uuid>,
) -> ApiResult<rollout::Model> {
    let name = parse_label("name", &body.name, 200).map_err(ApiError::Validation)?;
    wave_specs(&body.waves).map_err(ApiError::Validation)?;
    if body.bundles.is_empty() {
        return Err(ApiError::Validation(
            "a rollout needs at least one bundle".into(),
        ));
    }
    let mut bundles = Vec::new();
    for reference in &body.bundles {
        let b = bundle_by_ref(state, reference).await?;
        let usable = b.state == BundleState::Published.as_str()
            || (rollback_of.is_some() && b.state == BundleState::Deprecated.as_str());
        if !usable {
            return Err(ApiError::Conflict(format!(
                "bundle {}@{} is {}; only published bundles can be rolled out",
                b.name, b.version, b.state
            )));
        }
        if bundles.iter().any(|x: &bundle::Model| x.id == b.id) {
            return Err(ApiError::Validation(format!(
                "bundle {reference:?} is named twice"
            )));
        }
        bundles.push(b);
    }
    let timeout = body.device_timeout_secs.unwrap_or(DEFAULT_DEVICE_TIMEOUT);
    if !(1..=30 * 86_400).contains(&timeout) {
        return Err(ApiError::Validation(
            "device_timeout_secs must be between 1 and 2592000 (30 days)".into(),
        ));
    }
    if body.max_concurrent_downloads == Some(0) {
        return Err(ApiError::Validation(
            "max_concurrent_downloads must be at least 1".into(),
        ));
    }
    if let Some(g) = &body.health_gate {
        g.validate().map_err(ApiError::Validation)?;
    }
    let now = Utc::now();
    let caller = caller.clone();
    let model = state
        .db
        .transaction::<_, rollout::Model, ApiError>(|txn| {
            Box::pin(async move {
                let id = Uuid::now_v7();
                let m = rollout::ActiveModel {
                    id: Set(id),
                    name: Set(name),
                    state: Set(RolloutState::Scheduled.as_str().into()),
                    target: Set(serde_json::to_value(&body.target).map_err(anyhow::Error::from)?),
                    waves: Set(serde_json::to_value(&body.waves).map_err(anyhow::Error::from)?),
                    thresholds: Set(serde_json::json!([])),
                    open_waves: Set(0),
                    wave_opened_at: Set(None),
                    acknowledged_failures: Set(0),
                    starts_at: Set(body.starts_at.unwrap_or(now)),
                    device_timeout_secs: Set(i64::try_from(timeout).unwrap_or(i64::MAX)),
                    allow_downgrade: Set(body.allow_downgrade),
                    maintenance_window: Set(body.window.map(|w| serde_json::json!(w))),
                    max_concurrent_downloads: Set(body.max_concurrent_downloads.map(|n| n.min(i32::MAX as u32) as i32)),
                    rollback_of: Set(rollback_of),
                    reason: Set(None),
                    health_gate: Set(body.health_gate.as_ref().map(|g| serde_json::json!(g))),
                    gate_since: Set(None),
                    created_by: Set(caller.name.clone()),
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
                audit::record(txn, &caller, Entry {
                    action: "rollout.create",
                    object_type: "rollout",
                    object_id: id.to_string(),
                    details: audit::details(&serde_json::json!({
                        "name": m.name,
                        "bundles": bundles.iter().map(|b| format!("{}@{}", b.name, b.version)).collect::<Vec<_>>(),
                        "waves": m.waves,
                        "target": m.target,
                        "rollback_of": rollback_of,
                    })),
                })
                .await?;
                Ok(m)
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

/// `POST /api/v1/rollouts/{id}/rollback`: aborts the rollout and creates one
/// offering each bundle's previous version to the devices that installed
/// this one, with downgrade permission. Boxes never go below their installed
/// security version: the offer rules skip such a downgrade.
pub async fn rollback(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let r = find(&state, &id).await?;
    let from: RolloutState = r
        .state
        .parse()
        .map_err(|e: String| ApiError::Internal(anyhow::anyhow!(e)))?;
    if from == RolloutState::Scheduled {
        return Err(ApiError::Conflict(
            "the rollout has not started; abort it instead".into(),
        ));
    }
    let loaded = engine::load(&state.db, r.clone()).await?;
    let mut previous = Vec::new();
    for b in &loaded.bundles {
        let older = bundle::Entity::find()
            .filter(bundle::Column::Name.eq(&b.manifest.name))
            .filter(bundle::Column::State.is_in([
                BundleState::Published.as_str(),
                BundleState::Deprecated.as_str(),
            ]))
            .all(&state.db)
            .await?
            .into_iter()
            .filter_map(|c| c.version.parse::<semver::Version>().ok().map(|v| (v, c)))
            .filter(|(v, _)| *v < b.manifest.version)
            .max_by(|a, b| a.0.cmp(&b.0));
        match older {
            Some((v, _)) => previous.push(format!("{}@{v}", b.manifest.name)),
            None => {
                return Err(ApiError::Conflict(format!(
                    "no earlier published version of {} to roll back to",
                    b.manifest.name
                )))
            }
        }
    }
    let took: Vec<Uuid> = rollout_device::Entity::find()
        .filter(rollout_device::Column::RolloutId.eq(r.id))
        .filter(rollout_device::Column::State.eq(InstallState::Succeeded.as_str()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|row| row.device_id)
        .collect();
    let serials: Vec<String> = crate::entities::device::Entity::find()
        .filter(crate::entities::device::Column::Id.is_in(took))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|d| d.serial)
        .collect();
    if serials.is_empty() {
        return Err(ApiError::Conflict(
            "no device installed this rollout; nothing to roll back".into(),
        ));
    }
    if from != RolloutState::Aborted && from != RolloutState::Completed {
        let mut m: rollout::ActiveModel = r.clone().into();
        m.state = Set(RolloutState::Aborted.as_str().into());
        m.reason = Set(Some(format!("rolled back by {}", auth.name)));
        m.updated_at = Set(Utc::now());
        m.update(&state.db).await?;
    }
    let body = CreateRollout {
        name: format!("rollback of {}", r.name)
            .chars()
            .take(200)
            .collect(),
        bundles: previous,
        target: crate::domain::rollout::Target {
            serials,
            ..Default::default()
        },
        waves: vec![crate::domain::rollout::WavePlan {
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
    };
    let created = insert(&state, &auth, body, Some(r.id)).await?;
    audit::record(
        &state.db,
        &auth,
        Entry {
            action: "rollout.rollback",
            object_type: "rollout",
            object_id: r.id.to_string(),
            details: audit::details(&serde_json::json!({ "rollback": created.id })),
        },
    )
    .await?;
    state.caches.offering.invalidate();
    Ok(HttpResponse::Created().json(view(&state, created).await?))
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
) -> ApiResult<HttpResponse> {
    let mut select = rollout::Entity::find().order_by_desc(rollout::Column::CreatedAt);
    if let Some(s) = &q.state {
        s.parse::<RolloutState>().map_err(ApiError::Validation)?;
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
) -> ApiResult<HttpResponse> {
    let r = find(&state, &id).await?;
    Ok(HttpResponse::Ok().json(view(&state, r).await?))
}

/// `POST /api/v1/rollouts/{id}/{pause|resume|approve|abort}`
pub async fn act(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, action_name) = path.into_inner();
    if action_name == "rollback" {
        return rollback(auth, state, web::Path::from(id)).await;
    }
    let action = match action_name.as_str() {
        "pause" => RolloutAction::Pause,
        "resume" => RolloutAction::Resume,
        "approve" => RolloutAction::Approve,
        "abort" => RolloutAction::Abort,
        other => {
            return Err(ApiError::NotFound(format!(
                "no rollout action {other:?}; use pause, resume, approve, abort or rollback"
            )))
        }
    };
    let r = find(&state, &id).await?;
    let from: RolloutState = r
        .state
        .parse()
        .map_err(|e: String| ApiError::Internal(anyhow::anyhow!(e)))?;
    let to = from.apply(action).map_err(ApiError::Conflict)?;
    let now = Utc::now();
    if action == RolloutAction::Approve {
        let loaded = engine::load(&state.db, r.clone()).await?;
        let opened = scheduler::open_next_wave(&state.db, &loaded, now).await?;
        state
            .mqtt
            .nudge(opened, NudgeReason::WaveOpened, Some(loaded.model.id));
    } else {
        let mut m: rollout::ActiveModel = r.clone().into();
        m.state = Set(to.as_str().into());
        m.reason = Set(match action {
            RolloutAction::Pause => Some(format!("paused by {}", auth.name)),
            RolloutAction::Abort => Some(format!("aborted by {}", auth.name)),
            _ => None,
        });
        // Resuming accepts the current wave's failures (they stop counting
        // against its thresholds), soaks the wave again from now and starts
        // the health gate counting afresh.
        if action == RolloutAction::Resume {
            m.gate_since = Set(Some(now));
            let loaded = engine::load(&state.db, r.clone()).await?;
            let tally = scheduler::current_tally(&state.db, &loaded).await?;
            m.acknowledged_failures = Set(tally.failed as i32);
            m.wave_opened_at = Set(Some(now));
        }
        m.updated_at = Set(now);
        m.update(&state.db).await?;
    }
    audit::record(
        &state.db,
        &auth,
        Entry {
            action: match action {
                RolloutAction::Pause => "rollout.pause",
                RolloutAction::Resume => "rollout.resume",
                RolloutAction::Approve => "rollout.approve",
                RolloutAction::Abort => "rollout.abort",
            },
            object_type: "rollout",
            object_id: r.id.to_string(),
            details: audit::details(&serde_json::json!({ "from": from, "to": to })),
        },
    )
    .await?;
    state.caches.offering.invalidate();
    let fresh = find(&state, &id).await?;
    Ok(HttpResponse::Ok().json(view(&state, fresh).await?))
}
