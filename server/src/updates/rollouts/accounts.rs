//! The account side of a rollout's target, from SQL: the plan of each
//! box's subscriber and whether it is entitled to the target's licensed
//! product (`Target::plans`, `Target::entitled_to`). Read once per pass for
//! a whole target ([`Accounts`]), or for one box at check-in and when it
//! reports ([`account_matches`]); targets that name neither cost nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect};
use uuid::Uuid;

use super::rules::{Account, Target};
use crate::{
    licences::entitled::{box_entitled, entitled, Entitled},
    platform::{
        entities::{device, subscriber},
        error::Result,
    },
};

/// The account facts of a whole target, for one pass.
#[derive(Debug)]
pub struct Accounts<'t> {
    target: &'t Target,
    plans: HashMap<Uuid, String>,
    entitled: Option<Entitled>,
}

impl<'t> Accounts<'t> {
    /// Reads what `target`'s account criteria need at `now`; `None` when it
    /// names none.
    pub async fn load(
        db: &impl ConnectionTrait,
        target: &'t Target,
        now: DateTime<Utc>,
    ) -> Result<Option<Self>> {
        if !target.looks_at_accounts() {
            return Ok(None);
        }
        let plans = if target.plans.is_empty() {
            HashMap::new()
        } else {
            subscriber::Entity::find()
                .select_only()
                .column(subscriber::Column::Id)
                .column(subscriber::Column::Plan)
                .into_tuple::<(Uuid, String)>()
                .all(db)
                .await?
                .into_iter()
                .collect()
        };
        let entitled = match &target.entitled_to {
            Some(product) => Some(entitled(db, product, now).await?),
            None => None,
        };
        Ok(Some(Self {
            target,
            plans,
            entitled,
        }))
    }

    /// Whether box `device` of `subscriber` meets the account criteria.
    pub fn matches(&self, device: Uuid, subscriber: Option<Uuid>) -> bool {
        self.target.matches_account(&Account {
            plan: subscriber
                .and_then(|s| self.plans.get(&s))
                .map(String::as_str),
            entitled: self
                .entitled
                .as_ref()
                .is_some_and(|e| e.allows(device, subscriber)),
        })
    }
}

/// Whether box `device_id` meets `target`'s account criteria at `now`
/// (true when it names none, without reading anything).
pub async fn account_matches(
    db: &impl ConnectionTrait,
    target: &Target,
    device_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool> {
    if !target.looks_at_accounts() {
        return Ok(true);
    }
    let Some(d) = device::Entity::find_by_id(device_id).one(db).await? else {
        return Ok(false);
    };
    let plan = match (target.plans.is_empty(), d.subscriber_id) {
        (false, Some(s)) => subscriber::Entity::find_by_id(s)
            .one(db)
            .await?
            .map(|s| s.plan),
        _ => None,
    };
    let entitled = match &target.entitled_to {
        Some(product) => box_entitled(db, &d, product, now).await?,
        None => false,
    };
    Ok(target.matches_account(&Account {
        plan: plan.as_deref(),
        entitled,
    }))
}
