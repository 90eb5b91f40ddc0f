//! Validation: a licence named by key or id, checked for a product, a box
//! and entitlements at a time, answering `valid`, a code and a detail with
//! the caller's nonce.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::{
    rules::{self, Scope, ScopeDevice},
    store::{active, load},
    views::{ValidateBody, Validation},
};
use crate::{
    fleet::devices::store::find as find_device,
    identity::tokens::rules::{self as token, Scheme},
    platform::{
        entities::licence,
        error::{Error, Result},
    },
};

/// Validates a licence named by key or id in the body's scope, at `now`.
pub async fn validate(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    b: ValidateBody,
) -> Result<Validation> {
    let answer = |valid, code, detail: String, updates, licence_id| Validation {
        valid,
        code,
        detail,
        updates,
        licence_id,
        ts: now,
        nonce: b.nonce.clone(),
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
        return Ok(answer(
            false,
            rules::Code::NotFound,
            "no such licence".into(),
            false,
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
    // A box without an activation that could not get one: the limit, not
    // the missing activation, is the reason.
    if verdict.code == rules::Code::NotActivated {
        let held = u32::try_from(activations.len()).unwrap_or(u32::MAX);
        if let Err(
            e @ (rules::ActivationRefused::TooManyDevices { .. }
            | rules::ActivationRefused::NodeLocked),
        ) = rules::may_activate(&policy, held, 0)
        {
            verdict.code = rules::Code::TooManyDevices;
            verdict.detail = e.to_string();
        }
    }
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
    Ok(answer(
        verdict.valid,
        verdict.code,
        verdict.detail,
        verdict.updates,
        Some(l.row.id),
    ))
}
