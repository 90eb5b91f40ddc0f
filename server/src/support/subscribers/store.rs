//! Subscribers at the SQL edge: finding one by id or account, the view the
//! staff API shows (their boxes, their dedicated agent by name), and the
//! checks on what a subscriber record names (a plan, a support user).

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    identity::{
        roles::Role,
        users::store::{name_of, named},
    },
    platform::{
        entities::{device, plan, subscriber, user},
        error::{Error, Result},
    },
    support::views::{SubscriberDevice, SubscriberView},
};

/// The subscriber with id or account number `r`, or 404.
pub async fn subscriber_by_ref(db: &impl ConnectionTrait, r: &str) -> Result<subscriber::Model> {
    let q = match Uuid::parse_str(r) {
        Ok(id) => subscriber::Entity::find_by_id(id),
        Err(_) => subscriber::Entity::find().filter(subscriber::Column::Account.eq(r)),
    };
    q.one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no subscriber {r:?} (use an id or an account)")))
}

/// The staff API's view of a subscriber, with their boxes.
pub async fn subscriber_view(
    db: &impl ConnectionTrait,
    s: &subscriber::Model,
) -> Result<SubscriberView> {
    let boxes = device::Entity::find()
        .filter(device::Column::SubscriberId.eq(s.id))
        .all(db)
        .await?;
    Ok(SubscriberView {
        id: s.id,
        account: s.account.clone(),
        name: s.name.clone(),
        email: s.email.clone(),
        phone: s.phone.clone(),
        plan: s.plan.clone(),
        dedicated_agent: name_of(db, s.dedicated_agent).await?,
        devices: boxes
            .into_iter()
            .map(|d| SubscriberDevice {
                id: d.id,
                serial: d.serial,
                model: d.model,
                activated_at: d.activated_at,
            })
            .collect(),
        created_at: s.created_at,
        updated_at: s.updated_at,
    })
}

/// Fails with 422 unless user `u` may work tickets (support or admin).
pub fn works_tickets(u: &user::Model, field: &str) -> Result<()> {
    if u.role.grants(Role::Support) {
        Ok(())
    } else {
        Err(Error::Validation(format!(
            "{field}: {} has the {} role, not support",
            u.name, u.role
        )))
    }
}

/// The support user a body names as a dedicated agent.
pub async fn agent_id(db: &impl ConnectionTrait, name: &str) -> Result<Uuid> {
    let u = named(db, "dedicated_agent", name).await?;
    works_tickets(&u, "dedicated_agent")?;
    Ok(u.id)
}

/// Fails with 422 unless plan `key` exists.
pub async fn check_plan(db: &impl ConnectionTrait, key: &str) -> Result<()> {
    if plan::Entity::find_by_id(key.to_owned())
        .one(db)
        .await?
        .is_none()
    {
        return Err(Error::Validation(format!("plan: no plan {key:?}")));
    }
    Ok(())
}
