//! What the check-in asks of licences: may this box be offered an update
//! of a licensed product now? Only when it holds a licence for the product
//! (its own, or its subscriber's) whose verdict allows updates, activated
//! on this box; a licence not yet activated here is activated on this
//! first offer when its policy's limits allow (audited as the server's
//! own change). Bundles naming no product never come here, so the
//! check-in of a free bundle costs nothing more.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait,
};
use uuid::Uuid;

use super::{
    activations::bind,
    rules::{self, LicenceState, Scope, ScopeDevice},
    store::{active, load},
};
use crate::{
    identity::audit::store::{write, Actor, Entry},
    platform::{
        entities::{device, licence, licence_policy, product},
        error::{Error, Result},
    },
};

/// Whether box `device_id` may be offered an update of `product` at `now`.
pub async fn may_offer(
    db: &DatabaseConnection,
    device_id: Uuid,
    product_code: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let Some(product) = product::Entity::find()
        .filter(product::Column::Code.eq(product_code))
        .one(db)
        .await?
    else {
        // A manifest naming a product nobody sells reaches no box.
        return Ok(false);
    };
    let Some(d) = device::Entity::find_by_id(device_id).one(db).await? else {
        return Ok(false);
    };
    let policies: Vec<Uuid> = licence_policy::Entity::find()
        .filter(licence_policy::Column::ProductId.eq(product.id))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let mut holder = Condition::any().add(licence::Column::DeviceId.eq(d.id));
    if let Some(s) = d.subscriber_id {
        holder = holder.add(licence::Column::SubscriberId.eq(s));
    }
    let held = licence::Entity::find()
        .filter(licence::Column::PolicyId.is_in(policies))
        .filter(licence::Column::State.eq(LicenceState::Active))
        .filter(holder)
        .all(db)
        .await?;
    for row in held {
        let l = load(db, row).await?;
        let (rule, policy) = l.rules()?;
        let boxes = active(db, l.row.id).await?;
        let activated = boxes.iter().any(|a| a.device_id == d.id);
        let scope = Scope {
            product: Some(product.code.clone()),
            device: Some(ScopeDevice {
                id: d.id,
                subscriber: d.subscriber_id,
                activated: true,
            }),
            entitlements: Vec::new(),
        };
        if !rules::validate(&rule, &policy, now, &scope).updates {
            continue;
        }
        if activated {
            return Ok(true);
        }
        let (licence_id, d2) = (l.row.id, d.clone());
        let entry = Entry::new("licence.activate", "licence", l.row.id.to_string())
            .details(&serde_json::json!({ "device": d.serial, "on": "first offer" }));
        let bound = db
            .transaction::<_, bool, Error>(move |txn| {
                Box::pin(async move {
                    match bind(txn, licence_id, &policy, &d2, now).await? {
                        Ok(true) => {
                            write(txn, Actor::SYSTEM, now, entry).await?;
                            Ok(true)
                        }
                        Ok(false) => Ok(true),
                        Err(_) => Ok(false),
                    }
                })
            })
            .await
            .map_err(Error::from)?;
        if bound {
            return Ok(true);
        }
    }
    Ok(false)
}
