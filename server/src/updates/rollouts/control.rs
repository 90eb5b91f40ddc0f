//! What an operator does to a running rollout — pause, resume, approve the
//! next wave, abort — for the API and the console alike: the lifecycle
//! rule, the change with its audit entry, the nudge to the boxes a wave
//! lets in, and the offering cache dropped. (Rolling back is
//! [`super::rollback::roll_back`].)

use sea_orm::{ActiveModelTrait, Set};
use wavecast_protocol::mqtt::NudgeReason;

use super::{
    rules::{RolloutAction, RolloutState},
    scheduler, standing,
    store::{self as rollouts, find},
};
use crate::{
    identity::{
        audit::store::{audited, Entry},
        caller::Caller,
    },
    platform::{
        entities::rollout,
        error::{Error, Result},
    },
    state::AppState,
};

/// What the audit log keeps of an operator's action.
#[derive(Debug, serde::Serialize)]
struct StateChange {
    from: RolloutState,
    to: RolloutState,
}

/// Applies `action` to rollout `id` as `caller`; returns it as it is now.
pub async fn act(
    state: &AppState,
    caller: &Caller,
    id: &str,
    action: RolloutAction,
) -> Result<rollout::Model> {
    let r = find(&state.db, id).await?;
    let from = r.state;
    let to = from.apply(action).map_err(Error::Conflict)?;
    let now = state.clock.now();
    let who = caller.name.clone();
    let rollout_id = r.id;
    let loaded = rollouts::load(&state.db, r.clone()).await?;
    let opened = audited(&state.db, caller, now, move |txn| {
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
    find(&state.db, id).await
}
