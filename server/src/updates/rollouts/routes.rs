//! `/api/v1/rollouts`: create, list, show; pause, resume, approve, abort
//! (roll back is [`super::rollback`]).

use actix_web::{web, HttpResponse};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Deserialize;
use wavecast_protocol::mqtt::NudgeReason;

use super::{
    create::insert,
    rules::{RolloutAction, RolloutState},
    scheduler, standing,
    store::{self as rollouts, find},
    view::{detail, view},
};
use crate::{
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
    },
    platform::{
        entities::rollout,
        error::{Error, Result},
    },
    state::AppState,
    updates::views::CreateRollout,
};

/// `POST /api/v1/rollouts`
pub async fn create(
    auth: Auth<access::Operator>,
    state: web::Data<AppState>,
    body: web::Json<CreateRollout>,
) -> Result<HttpResponse> {
    let r = insert(&state, &auth, body.into_inner(), None).await?;
    Ok(HttpResponse::Created().json(detail(&state.db, r, state.clock.now()).await?))
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
        out.push(view(&state.db, r).await?);
    }
    Ok(HttpResponse::Ok().json(out))
}

/// `GET /api/v1/rollouts/{id}`
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let r = find(&state.db, &id).await?;
    Ok(HttpResponse::Ok().json(detail(&state.db, r, state.clock.now()).await?))
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
    let r = find(&state.db, &id).await?;
    let from = r.state;
    let to = from.apply(action).map_err(Error::Conflict)?;
    let now = state.clock.now();
    let who = auth.name.clone();
    let rollout_id = r.id;
    let loaded = rollouts::load(&state.db, r.clone()).await?;
    let opened = audited(&state.db, &auth, now, move |txn| {
        Box::pin(async move {
            let mut opened = Vec::new();
            if action == RolloutAction::Approve {
                opened = scheduler::open_next_wave(txn, &loaded, now)
                    .await?
                    .unwrap_or_default();
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
                    let tally = standing::current_tally(txn, &loaded, now).await?;
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
    let fresh = find(&state.db, &id).await?;
    Ok(HttpResponse::Ok().json(detail(&state.db, fresh, state.clock.now()).await?))
}

/// What the audit log keeps of an operator's action.
#[derive(Debug, serde::Serialize)]
struct StateChange {
    from: RolloutState,
    to: RolloutState,
}
