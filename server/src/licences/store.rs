//! Products, policies, licences and activations in the database; every
//! change audited. Validation reads here and asks [`super::rules`].

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::{
    rules::{self, Holder, Licence, LicenceState, Policy},
    views::{
        ActivationView, LicenceBody, LicenceCreated, LicenceView, PolicyBody, PolicyView,
        ProductBody, ProductView,
    },
};
use crate::{
    fleet::devices::store::find as find_device,
    identity::{
        audit::store::{audited, Entry},
        caller::Caller,
        tokens::rules::{self as token, Scheme},
    },
    platform::{
        entities::{device, licence, licence_activation, licence_policy, product, subscriber},
        error::{Error, Result},
        json::{from_json, to_json},
        text::Line,
    },
};

/// The id of the subscriber with id or account `r` (422 when there is
/// none: it is named in a body or query).
pub async fn subscriber_id(db: &impl ConnectionTrait, field: &str, r: &str) -> Result<Uuid> {
    let q = match Uuid::parse_str(r) {
        Ok(id) => subscriber::Entity::find_by_id(id),
        Err(_) => subscriber::Entity::find().filter(subscriber::Column::Account.eq(r)),
    };
    Ok(q.one(db)
        .await?
        .ok_or_else(|| Error::Validation(format!("{field}: no subscriber {r:?}")))?
        .id)
}

/// A product or entitlement code: 1 to 64 of a-z, 0-9, `-`, `_`, `.`.
fn code(field: &str, s: &str) -> Result<String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(Error::Validation(format!(
            "{field} {s:?}: 1 to 64 of a-z, 0-9, - _ ."
        )))
    }
}

/// Entitlement codes, checked and without repeats.
fn codes(field: &str, list: &[String]) -> Result<BTreeSet<String>> {
    list.iter().map(|s| code(field, s)).collect()
}

fn product_view(p: product::Model) -> Result<ProductView> {
    Ok(ProductView {
        id: p.id,
        entitlements: from_json(&p.entitlements, "product entitlements")?,
        code: p.code,
        name: p.name,
        created_at: p.created_at,
    })
}

/// Every product, by code.
pub async fn products(db: &impl ConnectionTrait) -> Result<Vec<ProductView>> {
    product::Entity::find()
        .order_by_asc(product::Column::Code)
        .all(db)
        .await?
        .into_iter()
        .map(product_view)
        .collect()
}

/// The product with `code_`, or a 422 naming it.
async fn product_by_code(db: &impl ConnectionTrait, code_: &str) -> Result<product::Model> {
    product::Entity::find()
        .filter(product::Column::Code.eq(code_))
        .one(db)
        .await?
        .ok_or_else(|| Error::Validation(format!("product: no product {code_:?}")))
}

/// Adds a product.
pub async fn create_product(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    caller: &Caller,
    b: ProductBody,
) -> Result<ProductView> {
    let code_ = code("code", &b.code)?;
    let name = Line::parse("name", &b.name, 200).map_err(Error::Validation)?;
    let entitlements = codes("entitlement", &b.entitlements)?;
    if product::Entity::find()
        .filter(product::Column::Code.eq(&code_))
        .one(db)
        .await?
        .is_some()
    {
        return Err(Error::Conflict(format!(
            "a product {code_:?} exists already"
        )));
    }
    let row = product::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(code_.clone()),
        name: Set(name.into_string()),
        entitlements: Set(to_json(&entitlements)?),
        created_at: Set(now),
    };
    let entry = Entry::new("product.create", "product", code_);
    let made = audited(db, caller, now, move |txn| {
        Box::pin(async move { Ok((row.insert(txn).await?, entry)) })
    })
    .await?;
    product_view(made)
}

/// A policy as the rules see it.
pub fn policy_of(p: &licence_policy::Model) -> Result<Policy> {
    Ok(Policy {
        duration: p.duration_secs.map(Duration::seconds),
        expiry: p.expiry,
        grace: Duration::seconds(p.grace_secs),
        max_boxes: u32::try_from(p.max_boxes).unwrap_or(0),
        floating: p.floating,
        max_activations_per_day: u32::try_from(p.max_activations_per_day).unwrap_or(0),
        entitlements: from_json(&p.entitlements, "policy entitlements")?,
    })
}

fn days(secs: i64) -> u32 {
    u32::try_from(secs / 86_400).unwrap_or(u32::MAX)
}

async fn policy_view(db: &impl ConnectionTrait, p: licence_policy::Model) -> Result<PolicyView> {
    let product = product::Entity::find_by_id(p.product_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::corrupt("policy", "its product is gone"))?;
    let rule = policy_of(&p)?;
    Ok(PolicyView {
        id: p.id,
        name: p.name,
        product: product.code,
        duration_days: p.duration_secs.map(days),
        expiry: p.expiry,
        grace_days: days(p.grace_secs),
        max_boxes: rule.max_boxes,
        floating: rule.floating,
        max_activations_per_day: rule.max_activations_per_day,
        entitlements: rule.entitlements.into_iter().collect(),
        created_at: p.created_at,
    })
}

/// Every policy, by name.
pub async fn policies(db: &impl ConnectionTrait) -> Result<Vec<PolicyView>> {
    let mut out = Vec::new();
    for p in licence_policy::Entity::find()
        .order_by_asc(licence_policy::Column::Name)
        .all(db)
        .await?
    {
        out.push(policy_view(db, p).await?);
    }
    Ok(out)
}

/// Adds a policy for an existing product.
pub async fn create_policy(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    caller: &Caller,
    b: PolicyBody,
) -> Result<PolicyView> {
    let name = code("name", &b.name)?;
    let product = product_by_code(db, &b.product).await?;
    let known: BTreeSet<String> = from_json(&product.entitlements, "product entitlements")?;
    let entitlements = codes("entitlement", &b.entitlements)?;
    if let Some(unknown) = entitlements.iter().find(|e| !known.contains(*e)) {
        return Err(Error::Validation(format!(
            "entitlements: {unknown:?} is not an entitlement of {}",
            product.code
        )));
    }
    if b.max_boxes == 0 || b.max_boxes > 1_000_000 {
        return Err(Error::Validation("max_boxes: 1 to 1,000,000".into()));
    }
    if !b.floating && b.max_boxes != 1 {
        return Err(Error::Validation(
            "max_boxes: a node-locked policy (floating = false) holds 1 box".into(),
        ));
    }
    if b.max_activations_per_day == 0 || b.max_activations_per_day > 1_000_000 {
        return Err(Error::Validation(
            "max_activations_per_day: 1 to 1,000,000".into(),
        ));
    }
    if b.duration_days.is_some_and(|d| d == 0 || d > 36_500) || b.grace_days > 3650 {
        return Err(Error::Validation(
            "duration_days: 1 to 36,500; grace_days: 0 to 3,650".into(),
        ));
    }
    if licence_policy::Entity::find()
        .filter(licence_policy::Column::Name.eq(&name))
        .one(db)
        .await?
        .is_some()
    {
        return Err(Error::Conflict(format!("a policy {name:?} exists already")));
    }
    let row = licence_policy::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.clone()),
        product_id: Set(product.id),
        duration_secs: Set(b.duration_days.map(|d| i64::from(d) * 86_400)),
        expiry: Set(b.expiry),
        grace_secs: Set(i64::from(b.grace_days) * 86_400),
        max_boxes: Set(i32::try_from(b.max_boxes).unwrap_or(i32::MAX)),
        floating: Set(b.floating),
        max_activations_per_day: Set(i32::try_from(b.max_activations_per_day).unwrap_or(i32::MAX)),
        entitlements: Set(to_json(&entitlements)?),
        created_at: Set(now),
    };
    let entry = Entry::new("licence_policy.create", "licence_policy", name).details(&b);
    let made = audited(db, caller, now, move |txn| {
        Box::pin(async move { Ok((row.insert(txn).await?, entry)) })
    })
    .await?;
    policy_view(db, made).await
}

/// The boxes holding `licence_id` now.
pub(super) async fn active(
    db: &impl ConnectionTrait,
    licence_id: Uuid,
) -> Result<Vec<licence_activation::Model>> {
    Ok(licence_activation::Entity::find()
        .filter(licence_activation::Column::LicenceId.eq(licence_id))
        .filter(licence_activation::Column::DeactivatedAt.is_null())
        .order_by_asc(licence_activation::Column::ActivatedAt)
        .all(db)
        .await?)
}

/// Which licences box `d` may use: its own and its subscriber's.
pub(super) fn holder_of(d: &device::Model) -> Condition {
    let mut holder = Condition::any().add(licence::Column::DeviceId.eq(d.id));
    if let Some(s) = d.subscriber_id {
        holder = holder.add(licence::Column::SubscriberId.eq(s));
    }
    holder
}

/// The active licences for product `code` (those `holder` selects, or
/// all); none when nobody sells the product.
pub(super) async fn active_for_product(
    db: &impl ConnectionTrait,
    code: &str,
    holder: Option<Condition>,
) -> Result<Vec<licence::Model>> {
    let Some(product) = product::Entity::find()
        .filter(product::Column::Code.eq(code))
        .one(db)
        .await?
    else {
        return Ok(Vec::new());
    };
    let policies: Vec<Uuid> = licence_policy::Entity::find()
        .filter(licence_policy::Column::ProductId.eq(product.id))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let mut q = licence::Entity::find()
        .filter(licence::Column::PolicyId.is_in(policies))
        .filter(licence::Column::State.eq(LicenceState::Active));
    if let Some(h) = holder {
        q = q.filter(h);
    }
    Ok(q.all(db).await?)
}

/// A licence row with its policy and product.
pub(super) struct Loaded {
    pub(super) row: licence::Model,
    pub(super) policy: licence_policy::Model,
    pub(super) product: product::Model,
}

impl Loaded {
    pub(super) fn rules(&self) -> Result<(Licence, Policy)> {
        let holder = match (self.row.subscriber_id, self.row.device_id) {
            (Some(s), _) => Holder::Subscriber(s),
            (None, Some(d)) => Holder::Device(d),
            (None, None) => return Err(Error::corrupt("licence", "it has no holder")),
        };
        Ok((
            Licence {
                product: self.product.code.clone(),
                holder,
                state: self.row.state,
                expires_at: self.row.expires_at,
                entitlements: from_json(&self.row.entitlements, "licence entitlements")?,
            },
            policy_of(&self.policy)?,
        ))
    }
}

pub(super) async fn load(db: &impl ConnectionTrait, row: licence::Model) -> Result<Loaded> {
    let policy = licence_policy::Entity::find_by_id(row.policy_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::corrupt("licence", "its policy is gone"))?;
    let product = product::Entity::find_by_id(policy.product_id)
        .one(db)
        .await?
        .ok_or_else(|| Error::corrupt("policy", "its product is gone"))?;
    Ok(Loaded {
        row,
        policy,
        product,
    })
}

async fn licence_view(db: &impl ConnectionTrait, l: Loaded) -> Result<LicenceView> {
    let mut activations = Vec::new();
    for a in active(db, l.row.id).await? {
        let serial = device::Entity::find_by_id(a.device_id)
            .one(db)
            .await?
            .map_or_else(String::new, |d| d.serial);
        activations.push(ActivationView {
            device_id: a.device_id,
            serial,
            activated_at: a.activated_at,
        });
    }
    let (rule, _) = l.rules()?;
    Ok(LicenceView {
        id: l.row.id,
        key_prefix: l.row.key_prefix,
        policy: l.policy.name,
        product: l.product.code,
        subscriber_id: l.row.subscriber_id,
        device_id: l.row.device_id,
        state: l.row.state,
        entitlements: rule.entitlements.into_iter().collect(),
        starts_at: l.row.starts_at,
        expires_at: l.row.expires_at,
        activations,
        created_at: l.row.created_at,
        updated_at: l.row.updated_at,
    })
}

/// The licence with id `id`, or 404.
pub(super) async fn by_id(db: &impl ConnectionTrait, id: &str) -> Result<Loaded> {
    let row = match Uuid::parse_str(id) {
        Ok(id) => licence::Entity::find_by_id(id).one(db).await?,
        Err(_) => None,
    }
    .ok_or_else(|| Error::NotFound(format!("no licence {id:?}")))?;
    load(db, row).await
}

/// One licence.
pub async fn show(db: &impl ConnectionTrait, id: &str) -> Result<LicenceView> {
    licence_view(db, by_id(db, id).await?).await
}

/// Licences, newest first, of a subscriber or a box when given.
pub async fn licences(
    db: &impl ConnectionTrait,
    subscriber: Option<Uuid>,
    device: Option<Uuid>,
) -> Result<Vec<LicenceView>> {
    let mut q = licence::Entity::find().order_by_desc(licence::Column::CreatedAt);
    if let Some(s) = subscriber {
        q = q.filter(licence::Column::SubscriberId.eq(s));
    }
    if let Some(d) = device {
        q = q.filter(licence::Column::DeviceId.eq(d));
    }
    let mut out = Vec::new();
    for row in q.all(db).await? {
        out.push(licence_view(db, load(db, row).await?).await?);
    }
    Ok(out)
}

/// Issues a licence; its key is in the answer, once.
pub async fn create_licence(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    caller: &Caller,
    b: LicenceBody,
) -> Result<LicenceCreated> {
    let policy = licence_policy::Entity::find()
        .filter(licence_policy::Column::Name.eq(&b.policy))
        .one(db)
        .await?
        .ok_or_else(|| Error::Validation(format!("policy: no policy {:?}", b.policy)))?;
    let (subscriber_id, device_id) = match (&b.subscriber, &b.device) {
        (Some(s), None) => (Some(subscriber_id(db, "subscriber", s).await?), None),
        (None, Some(d)) => (
            None,
            Some(
                find_device(db, d)
                    .await
                    .map_err(|e| e.named_in("device"))?
                    .id,
            ),
        ),
        _ => {
            return Err(Error::Validation(
                "a licence is held by a subscriber or by a box: give one of subscriber, device"
                    .into(),
            ))
        }
    };
    let entitlements = codes("entitlement", &b.entitlements)?;
    let starts_at = b.starts_at.unwrap_or(now);
    let expires_at = rules::expires_at(&policy_of(&policy)?, starts_at, b.expires_at);
    if expires_at.is_some_and(|end| end <= starts_at) {
        return Err(Error::Validation("expires_at: after the start".into()));
    }
    let key = token::generate_in(Scheme::Licence);
    let id = Uuid::now_v7();
    let row = licence::ActiveModel {
        id: Set(id),
        policy_id: Set(policy.id),
        key_prefix: Set(key.prefix.clone()),
        key_hash: Set(key.hash.clone()),
        subscriber_id: Set(subscriber_id),
        device_id: Set(device_id),
        entitlements: Set(to_json(&entitlements)?),
        state: Set(LicenceState::Active),
        starts_at: Set(starts_at),
        expires_at: Set(expires_at),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let entry = Entry::new("licence.create", "licence", id.to_string()).details(&b);
    let made = audited(db, caller, now, move |txn| {
        Box::pin(async move { Ok((row.insert(txn).await?, entry)) })
    })
    .await?;
    let licence = licence_view(db, load(db, made).await?).await?;
    Ok(LicenceCreated {
        licence,
        key: key.plaintext,
    })
}

/// Suspends, reinstates or revokes a licence.
pub async fn set_state(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    caller: &Caller,
    id: &str,
    to: LicenceState,
) -> Result<LicenceView> {
    let l = by_id(db, id).await?;
    if l.row.state == LicenceState::Revoked {
        return Err(Error::Conflict("the licence is revoked, for good".into()));
    }
    let mut row: licence::ActiveModel = l.row.clone().into();
    row.state = Set(to);
    row.updated_at = Set(now);
    let entry = Entry::new(
        match to {
            LicenceState::Active => "licence.reinstate",
            LicenceState::Suspended => "licence.suspend",
            LicenceState::Revoked => "licence.revoke",
        },
        "licence",
        l.row.id.to_string(),
    );
    let updated = audited(db, caller, now, move |txn| {
        Box::pin(async move { Ok((row.update(txn).await?, entry)) })
    })
    .await?;
    licence_view(db, load(db, updated).await?).await
}
