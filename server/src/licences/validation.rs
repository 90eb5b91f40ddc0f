//! Validation (every question kept in the validation log, [`log`]): a
//! licence named by key or id, checked for a product, a box
//! and entitlements at a time, answering `valid`, a code and a detail with
//! the caller's nonce, signed ([`sign`]); and a box's own question about a
//! product, over its credential.

use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;
use wavecast_protocol::licence::{sign_validation, ValidationAnswer};

use super::{
    rules::{self, Scope, ScopeDevice},
    store::{active, holder_of, load},
    views::{DeviceValidateBody, ValidateBody, Validation, ValidationLogEntry},
};
use crate::{
    fleet::devices::store::find as find_device,
    identity::tokens::rules::{self as token, Scheme},
    platform::{
        entities::{device, licence, licence_validation},
        error::{Error, Result},
    },
};

/// Signs `v` for the caller who sent its nonce, with `key` (the server's
/// online key); nothing to sign without a nonce or a key.
pub fn sign(v: &mut Validation, product: Option<&str>, key: Option<&SigningKey>) -> Result<()> {
    let (Some(nonce), Some(key)) = (&v.nonce, key) else {
        return Ok(());
    };
    let answer = ValidationAnswer {
        valid: v.valid,
        code: v.code.as_str().to_owned(),
        detail: v.detail.clone(),
        updates: v.updates,
        licence_id: v.licence_id.map(|id| id.to_string()),
        product: product.map(str::to_owned),
        nonce: nonce.clone(),
        issued_at: v.ts.timestamp(),
    };
    v.signed = Some(sign_validation(&answer, key).map_err(|e| Error::Internal(e.into()))?);
    Ok(())
}

/// A box without an activation that could not get one: the limit, not
/// the missing activation, is the reason (`TOO_MANY_DEVICES`).
fn over_the_limit(verdict: &mut rules::Verdict, policy: &rules::Policy, held: usize) {
    if verdict.code != rules::Code::NotActivated {
        return;
    }
    let held = u32::try_from(held).unwrap_or(u32::MAX);
    if let Err(
        e
        @ (rules::ActivationRefused::TooManyDevices { .. } | rules::ActivationRefused::NodeLocked),
    ) = rules::may_activate(policy, held, 0)
    {
        verdict.code = rules::Code::TooManyDevices;
        verdict.detail = e.to_string();
    }
}

/// Validates a licence named by key or id in the body's scope, at `now`,
/// for `caller` (kept in the validation log).
pub async fn validate(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    b: ValidateBody,
    caller: &str,
) -> Result<Validation> {
    let product = b.product.clone();
    let (v, device) = judged(db, now, b).await?;
    record(db, now, &v, caller, device, product).await?;
    Ok(v)
}

/// Keeps a question and its answer in the validation log.
async fn record(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    v: &Validation,
    caller: &str,
    device: Option<Uuid>,
    product: Option<String>,
) -> Result<()> {
    licence_validation::ActiveModel {
        id: Set(Uuid::now_v7()),
        at: Set(now),
        licence_id: Set(v.licence_id),
        device_id: Set(device),
        product: Set(product.map(|p| p.chars().take(64).collect())),
        valid: Set(v.valid),
        code: Set(v.code.as_str().to_owned()),
        caller: Set(caller.chars().take(200).collect()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The validation log, newest first: of one licence, one box, or all.
pub async fn log(
    db: &impl ConnectionTrait,
    licence_id: Option<Uuid>,
    device_id: Option<Uuid>,
    limit: u64,
) -> Result<Vec<ValidationLogEntry>> {
    let mut q = licence_validation::Entity::find()
        .order_by_desc(licence_validation::Column::At)
        .limit(limit);
    if let Some(l) = licence_id {
        q = q.filter(licence_validation::Column::LicenceId.eq(l));
    }
    if let Some(d) = device_id {
        q = q.filter(licence_validation::Column::DeviceId.eq(d));
    }
    let rows = q.all(db).await?;
    let ids: Vec<Uuid> = rows.iter().filter_map(|r| r.device_id).collect();
    let serials: std::collections::HashMap<Uuid, String> = device::Entity::find()
        .filter(device::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|d| (d.id, d.serial))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| ValidationLogEntry {
            serial: r.device_id.and_then(|d| serials.get(&d).cloned()),
            at: r.at,
            licence_id: r.licence_id,
            device_id: r.device_id,
            product: r.product,
            valid: r.valid,
            code: r.code,
            caller: r.caller,
        })
        .collect())
}

/// [`validate`]'s verdict, and the box it was about.
async fn judged(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    b: ValidateBody,
) -> Result<(Validation, Option<Uuid>)> {
    let answer = |valid, code, detail: String, updates, licence_id| Validation {
        valid,
        code,
        detail,
        updates,
        licence_id,
        ts: now,
        nonce: b.nonce.clone(),
        signed: None,
    };
    if b.nonce
        .as_ref()
        .is_some_and(|n| n.is_empty() || n.len() > 128)
    {
        return Err(Error::Validation("nonce: 1 to 128 characters".into()));
    }
    let row = match (&b.key, b.licence) {
        (Some(key), None) => match token::prefix_in(Scheme::Licence, key) {
            Some(prefix) => licence::Entity::find()
                .filter(licence::Column::KeyPrefix.eq(prefix))
                .one(db)
                .await?
                .filter(|l| token::matches(key, &l.key_hash)),
            None => None,
        },
        (None, Some(id)) => licence::Entity::find_by_id(id).one(db).await?,
        _ => {
            return Err(Error::Validation(
                "name the licence by one of key, licence".into(),
            ))
        }
    };
    let Some(row) = row else {
        return Ok((
            answer(
                false,
                rules::Code::NotFound,
                "no such licence".into(),
                false,
                None,
            ),
            None,
        ));
    };
    let l = load(db, row).await?;
    let (rule, policy) = l.rules()?;
    let device = match &b.device {
        Some(r) => Some(find_device(db, r).await.map_err(|e| e.named_in("device"))?),
        None => None,
    };
    let activations = active(db, l.row.id).await?;
    let scope = Scope {
        product: b.product.clone(),
        device: device.as_ref().map(|d| ScopeDevice {
            id: d.id,
            subscriber: d.subscriber_id,
            activated: activations.iter().any(|a| a.device_id == d.id),
        }),
        entitlements: b.entitlements.clone(),
    };
    let mut verdict = rules::validate(&rule, &policy, now, &scope);
    over_the_limit(&mut verdict, &policy, activations.len());
    // More boxes hold it than the policy allows now (its limit was lowered).
    if verdict.valid && activations.len() > policy.max_boxes as usize {
        verdict = rules::Verdict {
            valid: false,
            code: rules::Code::TooManyDevices,
            updates: false,
            detail: format!(
                "{} boxes hold the licence; its policy allows {}",
                activations.len(),
                policy.max_boxes
            ),
        };
    }
    Ok((
        answer(
            verdict.valid,
            verdict.code,
            verdict.detail,
            verdict.updates,
            Some(l.row.id),
        ),
        device.map(|d| d.id),
    ))
}

/// Validates box `d`'s own right to `b.product` at `now`: every licence for
/// the product the box or its subscriber holds is checked, and the answer
/// is the first valid one's, else the first refusal (`NOT_FOUND` when it
/// holds none).
pub async fn validate_for_box(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    d: &device::Model,
    b: DeviceValidateBody,
) -> Result<Validation> {
    let product = b.product.clone();
    let v = judged_for_box(db, now, d, b).await?;
    record(
        db,
        now,
        &v,
        &format!("device {}", d.serial),
        Some(d.id),
        Some(product),
    )
    .await?;
    Ok(v)
}

async fn judged_for_box(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    d: &device::Model,
    b: DeviceValidateBody,
) -> Result<Validation> {
    if b.nonce
        .as_ref()
        .is_some_and(|n| n.is_empty() || n.len() > 128)
    {
        return Err(Error::Validation("nonce: 1 to 128 characters".into()));
    }
    let holder = holder_of(d);
    let mut first = None;
    for row in licence::Entity::find()
        .filter(holder)
        .order_by_asc(licence::Column::CreatedAt)
        .all(db)
        .await?
    {
        let l = load(db, row).await?;
        if l.product.code != b.product {
            continue;
        }
        let (rule, policy) = l.rules()?;
        let boxes = active(db, l.row.id).await?;
        let activated = boxes.iter().any(|a| a.device_id == d.id);
        let scope = Scope {
            product: Some(b.product.clone()),
            device: Some(ScopeDevice {
                id: d.id,
                subscriber: d.subscriber_id,
                activated,
            }),
            entitlements: b.entitlements.clone(),
        };
        let mut v = rules::validate(&rule, &policy, now, &scope);
        over_the_limit(&mut v, &policy, boxes.len());
        let answer = Validation {
            valid: v.valid,
            code: v.code,
            detail: v.detail,
            updates: v.updates,
            licence_id: Some(l.row.id),
            ts: now,
            nonce: b.nonce.clone(),
            signed: None,
        };
        if answer.valid {
            return Ok(answer);
        }
        first.get_or_insert(answer);
    }
    Ok(first.unwrap_or_else(|| Validation {
        valid: false,
        code: rules::Code::NotFound,
        detail: format!("this box holds no licence for {}", b.product),
        updates: false,
        licence_id: None,
        ts: now,
        nonce: b.nonce,
        signed: None,
    }))
}
