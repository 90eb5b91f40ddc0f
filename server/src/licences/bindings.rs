//! Activations at the SQL edge, below everything that needs the server's
//! state: binding a licence to a box within its policy's limits (the
//! operator's activation and the first offer both come here), moving a
//! box's licences to its replacement, and the boxes that hold one.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

use super::{
    rules::{self, ActivationRefused, Policy},
    store::active,
};
use crate::platform::{
    entities::{device, licence, licence_activation},
    error::Result,
};

/// The boxes holding at least one licence activation (the check-in's
/// cheap first question).
pub async fn activated_boxes(db: &impl ConnectionTrait) -> Result<HashSet<Uuid>> {
    Ok(licence_activation::Entity::find()
        .select_only()
        .column(licence_activation::Column::DeviceId)
        .filter(licence_activation::Column::DeactivatedAt.is_null())
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Binds licence `licence_id` (under `policy`) to box `d` at `now` in
/// `txn`, within the policy's limits counted in the same transaction: on
/// PostgreSQL with the licence's row locked first, so two boxes activated
/// at once cannot both take its last place (SQLite has one writer at a
/// time). `Ok(false)`: the box held it already; the refusal says which
/// limit holds it back.
pub async fn bind(
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
