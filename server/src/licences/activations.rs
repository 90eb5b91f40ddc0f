//! Activations as operators make them: a licence bound to a box (by its
//! id and identity key) within the policy's box limit, node lock and daily
//! rate ([`super::bindings::bind`]), and ended again; every change audited.

use sea_orm::{ActiveModelTrait, Set};

use super::{
    bindings::bind,
    rules::Holder,
    store::{active, by_id},
    views::ActivationView,
};
use crate::{
    fleet::devices::store::find as find_device,
    identity::{
        audit::store::{audited, Entry},
        caller::Caller,
    },
    platform::{
        entities::{device, licence_activation},
        error::{Error, Result},
    },
    state::AppState,
};

/// Whether `d` may use a licence of `holder` at all.
fn holds(holder: Holder, d: &device::Model) -> bool {
    match holder {
        Holder::Device(id) => id == d.id,
        Holder::Subscriber(s) => d.subscriber_id == Some(s),
    }
}

/// Activates a licence on a box, within the policy's limits.
pub async fn activate(
    state: &AppState,
    caller: &Caller,
    id: &str,
    device_ref: &str,
) -> Result<ActivationView> {
    let l = by_id(&state.db, id).await?;
    let d = find_device(&state.db, device_ref)
        .await
        .map_err(|e| e.named_in("device"))?;
    let (rule, policy) = l.rules()?;
    if !holds(rule.holder, &d) {
        return Err(Error::Validation(format!(
            "device: {} is neither the licence's box nor one of its subscriber's",
            d.serial
        )));
    }
    let now = state.clock.now();
    let current = active(&state.db, l.row.id).await?;
    if let Some(a) = current.iter().find(|a| a.device_id == d.id) {
        return Ok(ActivationView {
            device_id: d.id,
            serial: d.serial,
            activated_at: a.activated_at,
        });
    }
    let entry = Entry::new("licence.activate", "licence", l.row.id.to_string())
        .details(&serde_json::json!({ "device": d.serial }));
    let (licence_id, d2) = (l.row.id, d.clone());
    audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            bind(txn, licence_id, &policy, &d2, now)
                .await?
                .map_err(|e| Error::Conflict(e.to_string()))?;
            Ok(((), entry))
        })
    })
    .await?;
    state.caches.licensed.invalidate();
    Ok(ActivationView {
        device_id: d.id,
        serial: d.serial,
        activated_at: now,
    })
}

/// Ends a box's activation of a licence (404 when it holds none).
pub async fn deactivate(
    state: &AppState,
    caller: &Caller,
    id: &str,
    device_ref: &str,
) -> Result<()> {
    let l = by_id(&state.db, id).await?;
    let d = find_device(&state.db, device_ref).await?;
    let a = active(&state.db, l.row.id)
        .await?
        .into_iter()
        .find(|a| a.device_id == d.id)
        .ok_or_else(|| Error::NotFound(format!("the licence is not activated on {}", d.serial)))?;
    let now = state.clock.now();
    let mut row: licence_activation::ActiveModel = a.into();
    row.deactivated_at = Set(Some(now));
    let entry = Entry::new("licence.deactivate", "licence", l.row.id.to_string())
        .details(&serde_json::json!({ "device": d.serial }));
    audited(&state.db, caller, now, move |txn| {
        Box::pin(async move { Ok((row.update(txn).await?, entry)) })
    })
    .await?;
    state.caches.licensed.invalidate();
    Ok(())
}
