//! Subscribers at the SQL edge: finding one by id or account, the view the
//! staff API shows (their boxes, their dedicated agent by name), and the
//! checks on what a subscriber record names (a plan, a support user),
//! searching them, and their boxes as support and the app see them.

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, Func, LikeExpr},
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

use crate::{
    fleet::summary::rules::online,
    identity::{
        roles::Role,
        users::store::{name_of, named},
    },
    platform::{
        entities::{device, plan, subscriber, ticket, user},
        error::{Error, Result},
    },
    support::{
        tickets::store::ACTIVE,
        views::{SubscriberBox, SubscriberDevice, SubscriberView},
        warranty::store::warranty_of,
    },
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

/// The subscribers whose account, name, email or phone holds `q` (any
/// case) and whose plan is `plan`, in account order.
fn matching(q: Option<&str>, plan: Option<&str>) -> Select<subscriber::Entity> {
    let mut sel = subscriber::Entity::find().order_by_asc(subscriber::Column::Account);
    if let Some(p) = plan.filter(|p| !p.is_empty()) {
        sel = sel.filter(subscriber::Column::Plan.eq(p));
    }
    if let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) {
        let needle = format!("%{}%", like_escaped(&q.to_lowercase()));
        let mut any = Condition::any();
        for col in [
            subscriber::Column::Account,
            subscriber::Column::Name,
            subscriber::Column::Email,
            subscriber::Column::Phone,
        ] {
            any = any.add(
                Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(&needle).escape('\\')),
            );
        }
        sel = sel.filter(any);
    }
    sel
}

/// A page of the subscribers [`matching`] `q` and `plan`, and how many
/// match.
pub async fn search(
    db: &impl ConnectionTrait,
    q: Option<&str>,
    plan: Option<&str>,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<subscriber::Model>)> {
    let sel = matching(q, plan);
    let rows = sel.clone().offset(offset).limit(limit).all(db).await?;
    // A page that is not full says how many match without a second scan.
    let total = if (rows.len() as u64) < limit && (offset == 0 || !rows.is_empty()) {
        offset + rows.len() as u64
    } else {
        sel.count(db).await?
    };
    Ok((total, rows))
}

/// The first `limit` subscribers [`matching`] `q`, uncounted (a picker).
pub async fn first_matches(
    db: &impl ConnectionTrait,
    q: &str,
    limit: u64,
) -> Result<Vec<subscriber::Model>> {
    Ok(matching(Some(q), None).limit(limit).all(db).await?)
}

/// `s` with LIKE's wildcards and escape character taken literally.
fn like_escaped(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
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

/// Subscriber `id`'s boxes at `now`: what they run, whether they are
/// online, their warranty and their open tickets.
pub async fn boxes_of(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
    online_secs: u64,
) -> Result<Vec<SubscriberBox>> {
    let rows = device::Entity::find()
        .filter(device::Column::SubscriberId.eq(id))
        .order_by_asc(device::Column::Serial)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for d in rows {
        let warranty = warranty_of(db, &d, now).await?;
        let open_tickets = ticket::Entity::find()
            .filter(ticket::Column::DeviceId.eq(d.id))
            .filter(ticket::Column::SubscriberId.eq(id))
            .filter(ticket::Column::Status.is_in(ACTIVE))
            .count(db)
            .await?;
        let last_seen = d.last_seen_at.map(|t| t.timestamp());
        out.push(SubscriberBox {
            id: d.id,
            serial: d.serial,
            model: d.model,
            installed: d.installed,
            online: online(last_seen, now.timestamp(), online_secs),
            last_seen_at: d.last_seen_at,
            activated_at: d.activated_at,
            warranty,
            open_tickets,
        });
    }
    Ok(out)
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
