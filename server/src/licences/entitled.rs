//! Which boxes are entitled to a licensed product, for a rollout's counts
//! and its waves' verdicts: a box that holds an activated licence for it
//! whose verdict allows updates, or that may still be activated on its
//! first offer (it, or its subscriber, holds such a licence with room
//! under the policy's box limit). The offer itself decides box by box at
//! check-in ([`super::offers`]); this is the same answer for a whole
//! fleet at once, read once per scheduler pass.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{Condition, ConnectionTrait};
use uuid::Uuid;

use super::{
    rules::{self, Scope},
    store::{active, active_for_product, holder_of, load},
};
use crate::platform::{entities::device, error::Result};

/// The boxes entitled to one product.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entitled {
    /// Boxes holding an activation of a licence that allows updates.
    activated: HashSet<Uuid>,
    /// Holders (a subscriber's or a box's id) of such a licence with room
    /// for one more box.
    with_room: HashSet<Uuid>,
}

impl Entitled {
    /// Whether box `device` (of `subscriber`) is entitled.
    pub fn allows(&self, device: Uuid, subscriber: Option<Uuid>) -> bool {
        self.activated.contains(&device)
            || self.with_room.contains(&device)
            || subscriber.is_some_and(|s| self.with_room.contains(&s))
    }
}

/// The boxes entitled to `product_code` at `now` (none for a product
/// nobody sells).
pub async fn entitled(
    db: &impl ConnectionTrait,
    product_code: &str,
    now: DateTime<Utc>,
) -> Result<Entitled> {
    held_by(db, product_code, None, now).await
}

/// Whether box `d` is entitled to `product_code` at `now`, without
/// activating anything (the offer does that, [`super::offers`]).
pub async fn box_entitled(
    db: &impl ConnectionTrait,
    d: &device::Model,
    product_code: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(held_by(db, product_code, Some(holder_of(d)), now)
        .await?
        .allows(d.id, d.subscriber_id))
}

/// [`Entitled`] from the licences for `product_code` (those `holder`
/// selects, or all).
async fn held_by(
    db: &impl ConnectionTrait,
    product_code: &str,
    holder: Option<Condition>,
    now: DateTime<Utc>,
) -> Result<Entitled> {
    let mut out = Entitled::default();
    let held = active_for_product(db, product_code, holder).await?;
    for row in held {
        let l = load(db, row).await?;
        let (rule, policy) = l.rules()?;
        let scope = Scope {
            product: Some(product_code.to_owned()),
            ..Scope::default()
        };
        if !rules::validate(&rule, &policy, now, &scope).updates {
            continue;
        }
        let boxes = active(db, l.row.id).await?;
        if boxes.len() < policy.max_boxes as usize {
            out.with_room
                .extend(l.row.subscriber_id.or(l.row.device_id));
        }
        out.activated.extend(boxes.iter().map(|a| a.device_id));
    }
    Ok(out)
}

/// [`entitled`] for each product in `products`.
pub async fn entitled_to(
    db: &impl ConnectionTrait,
    products: Vec<String>,
    now: DateTime<Utc>,
) -> Result<HashMap<String, Entitled>> {
    let mut out = HashMap::new();
    for p in products {
        if let std::collections::hash_map::Entry::Vacant(slot) = out.entry(p) {
            let e = entitled(db, slot.key(), now).await?;
            slot.insert(e);
        }
    }
    Ok(out)
}
