//! Activations: a licence bound to a box (by its id and identity key)
//! within the policy's box limit, node lock and daily rate, and ended
//! again; every change audited.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

use super::{
    rules::{self, ActivationRefused, Holder, Policy},
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
        entities::{device, licence, licence_activation},
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

/// Binds licence `licence_id` (under `policy`) to box `d` at `now` in
/// `txn`, within the policy's limits counted in the same transaction: on
/// PostgreSQL with the licence's row locked first, so two boxes activated
/// at once cannot both take its last place (SQLite has one writer at a
/// time). `Ok(false)`: the box held it already; the refusal says which
/// limit holds it back.
pub(super) async fn bind(
    txn: &DatabaseTransaction,
    licence_id: Uuid,
    policy: &Policy,
    d: &device::Model,
    now: DateTime<Utc>,
) -> Result<std::result::Result<bool, ActivationRefused>> {
    if txn.get_database_backend() == DbBackend::Postgres {
        licence::Entity::find_by_id(licence_id)
            .lock_exclusive()
            .one(txn)
            .await?;
    }
    let current = active(txn, licence_id).await?;
    if current.iter().any(|a| a.device_id == d.id) {
        return Ok(Ok(false));
    }
    let last_day = licence_activation::Entity::find()
        .filter(licence_activation::Column::LicenceId.eq(licence_id))
        .filter(licence_activation::Column::ActivatedAt.gt(now - Duration::hours(24)))
        .count(txn)
        .await?;
    if let Err(refused) = rules::may_activate(
        policy,
        u32::try_from(current.len()).unwrap_or(u32::MAX),
        u32::try_from(last_day).unwrap_or(u32::MAX),
    ) {
        return Ok(Err(refused));
    }
    licence_activation::ActiveModel {
        id: Set(Uuid::now_v7()),
        licence_id: Set(licence_id),
        device_id: Set(d.id),
        device_key: Set(d.public_key.clone()),
        activated_at: Set(now),
        deactivated_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(Ok(true))
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

/// Moves box `old`'s licences to its replacement `new` (an RMA): the
/// licences the old box held itself, and its activations, bound now to the
/// new box's identity key. Not a new activation: no limit counts it.
/// Returns how many activations moved.
pub async fn move_to_replacement(
    txn: &impl sea_orm::ConnectionTrait,
    old: Uuid,
    new: &device::Model,
) -> Result<u64> {
    use sea_orm::sea_query::Expr;
    licence::Entity::update_many()
        .col_expr(licence::Column::DeviceId, Expr::value(new.id))
        .filter(licence::Column::DeviceId.eq(old))
        .exec(txn)
        .await?;
    let moved = licence_activation::Entity::update_many()
        .col_expr(licence_activation::Column::DeviceId, Expr::value(new.id))
        .col_expr(
            licence_activation::Column::DeviceKey,
            Expr::value(new.public_key.clone()),
        )
        .filter(licence_activation::Column::DeviceId.eq(old))
        .filter(licence_activation::Column::DeactivatedAt.is_null())
        .exec(txn)
        .await?;
    Ok(moved.rows_affected)
}
