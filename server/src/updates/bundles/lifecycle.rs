//! A bundle's lifecycle as an operator moves it — publish, deprecate,
//! revoke — for the API and the console alike: the transition rule, the
//! audited change, and the offering cache dropped so that check-ins see it
//! at once (a revoked bundle is never offered again).

use sea_orm::{ActiveModelTrait, Set};

use super::{
    rules::{BundleAction, BundleState},
    store::find,
};
use crate::{
    identity::{
        audit::store::{audited, Entry},
        caller::Caller,
    },
    platform::{
        entities::bundle,
        error::{Error, Result},
    },
    state::AppState,
};

/// What the audit log keeps of a lifecycle change.
#[derive(Debug, serde::Serialize)]
struct StateChange {
    from: BundleState,
    to: BundleState,
    reason: Option<String>,
}

/// Applies `action` to the bundle `reference` names, as `caller`.
pub async fn act(
    state: &AppState,
    caller: &Caller,
    reference: &str,
    action: BundleAction,
    reason: Option<String>,
) -> Result<bundle::Model> {
    let b = find(&state.db, reference).await?;
    let from = b.state;
    let to = from.apply(action).map_err(Error::Conflict)?;
    let updated = if from == to {
        b
    } else {
        let now = state.clock.now();
        audited(&state.db, caller, now, move |txn| {
            Box::pin(async move {
                let label = format!("{}@{}", b.name, b.version);
                let mut model: bundle::ActiveModel = b.into();
                model.state = Set(to);
                model.updated_at = Set(now);
                let model = model.update(txn).await?;
                let entry = Entry::new(action.audit_action(), "bundle", label)
                    .details(&StateChange { from, to, reason });
                Ok((model, entry))
            })
        })
        .await?
    };
    state.caches.offering.invalidate();
    state.caches.downloadable.invalidate();
    Ok(updated)
}
