//! What the check-in asks of licences: may this box be offered an update
//! of a licensed product now? Only when it holds a licence for the product
//! (its own, or its subscriber's) whose verdict allows updates, activated
//! on this box; a licence not yet activated here is activated on this
//! first offer when its policy's limits allow (audited as the server's
//! own change). Bundles naming no product never come here, so the
//! check-in of a free bundle costs nothing more.

use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait, TransactionTrait};
use uuid::Uuid;

use super::{
    bindings::bind,
    rules::{self, Scope, ScopeDevice},
    store::{active, active_for_product, holder_of, load},
};
use crate::{
    identity::audit::store::{write, Actor, Entry},
    platform::{
        entities::device,
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
    let Some(d) = device::Entity::find_by_id(device_id).one(db).await? else {
        return Ok(false);
    };
    // A manifest naming a product nobody sells reaches no box.
    let held = active_for_product(db, product_code, Some(holder_of(&d))).await?;
    for row in held {
        let l = load(db, row).await?;
        let (rule, policy) = l.rules()?;
        let boxes = active(db, l.row.id).await?;
        let activated = boxes.iter().any(|a| a.device_id == d.id);
        let scope = Scope {
            product: Some(product_code.to_owned()),
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
