//! Warranty at the SQL edge: a box's warranty from its activation date,
//! its model's warranty period and its void flag (the rule is
//! `support::tickets::rules::warranty`).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::{
    platform::{
        entities::{device, model_warranty},
        error::Result,
    },
    support::tickets::rules::{self as rules, Warranty},
};

/// A box's warranty at `at`.
pub async fn warranty_of(
    db: &impl ConnectionTrait,
    d: &device::Model,
    at: DateTime<Utc>,
) -> Result<Warranty> {
    let months = model_warranty::Entity::find_by_id(d.model.clone())
        .one(db)
        .await?
        .and_then(|w| u32::try_from(w.months).ok());
    Ok(rules::warranty(
        d.activated_at,
        months,
        d.warranty_void_reason.as_deref(),
        at,
    ))
}
