//! Licence tokens for boxes: at check-in, a box with licence activations
//! gets one token per activated licence, signed by the server's online key
//! under the keyring's `licence` role and bound to the box's id and the
//! identity key it was activated with. The box keeps them and answers its
//! components offline (`wavecast-agent licence check`).
//!
//! Only boxes that hold an activation, hold tokens already, or were just
//! offered a licensed bundle cost anything here: the rest are told with
//! one look into an in-memory set of activated boxes. A box that holds
//! tokens always gets its complete current set, so a licence suspended,
//! revoked, expired or deactivated reaches it at its next check-in.

use chrono::{DateTime, Duration, Utc};
use ed25519_dalek::SigningKey;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use wavecast_protocol::{
    envelope::Envelope,
    keyring::{KeyRole, Keyring},
    keys::key_id,
    licence::{sign_token, LicenceToken, TOKEN_KIND},
};

use super::{
    rules::{self, Scope, ScopeDevice},
    store::load,
};
use crate::{
    platform::{
        entities::{device, licence, licence_activation},
        error::{Error, Result},
    },
    state::AppState,
};

/// How long a box goes before it should fetch a fresh token, at most.
pub const REFRESH: Duration = Duration::hours(24);

/// Whether `keyring` lets key `keyid` sign licence tokens.
pub fn may_sign_tokens(keyring: &Keyring, keyid: &str) -> bool {
    keyring
        .entry(keyid)
        .is_some_and(|e| e.roles.contains(&KeyRole::Licence))
}

/// What a check-in answers about licences for box `device_id`: `None`
/// (nothing to say) unless the box holds an activation or was just offered
/// a licensed bundle, or `holds_tokens`; then its complete set of tokens.
/// `None` too, with a warning, when the keyring does not give the online
/// key the `licence` role (a keyring published before licences existed).
pub async fn for_check_in(
    state: &AppState,
    device_id: Uuid,
    key: &SigningKey,
    keyring: &Keyring,
    now: DateTime<Utc>,
    holds_tokens: bool,
) -> Result<Option<Vec<Envelope>>> {
    if !holds_tokens && !state.licensed_boxes().await?.contains(&device_id) {
        return Ok(None);
    }
    let keyid = key_id(&key.verifying_key());
    if !may_sign_tokens(keyring, &keyid) {
        tracing::warn!(
            key = %keyid,
            keyring = keyring.version,
            "a box holds licences but keyring version {} does not give the online key the licence \
             role: it gets no licence tokens until an operator publishes a keyring that does \
             (`wavecast keys rotate --roles checkin,licence`)",
            keyring.version
        );
        return Ok(None);
    }
    let Some(d) = device::Entity::find_by_id(device_id).one(&state.db).await? else {
        return Ok(None);
    };
    tokens_for(&state.db, &d, key, now).await.map(Some)
}

/// The tokens of box `d` at `now`, one per licence activated on it, signed
/// with `key`.
pub async fn tokens_for(
    db: &impl ConnectionTrait,
    d: &device::Model,
    key: &SigningKey,
    now: DateTime<Utc>,
) -> Result<Vec<Envelope>> {
    let activations = licence_activation::Entity::find()
        .filter(licence_activation::Column::DeviceId.eq(d.id))
        .filter(licence_activation::Column::DeactivatedAt.is_null())
        .all(db)
        .await?;
    let mut tokens = Vec::with_capacity(activations.len());
    for a in activations {
        let Some(row) = licence::Entity::find_by_id(a.licence_id).one(db).await? else {
            continue;
        };
        let l = load(db, row).await?;
        let (rule, policy) = l.rules()?;
        let scope = Scope {
            product: Some(l.product.code.clone()),
            device: Some(ScopeDevice {
                id: d.id,
                subscriber: d.subscriber_id,
                activated: true,
            }),
            entitlements: Vec::new(),
        };
        let v = rules::validate(&rule, &policy, now, &scope);
        let use_until = rules::use_until(&rule, &policy);
        let refresh = use_until.map_or(now + REFRESH, |u| (now + REFRESH).min(u.max(now)));
        let token = LicenceToken {
            kind: TOKEN_KIND.to_owned(),
            licence_id: l.row.id.to_string(),
            entitlements: rule.granted(&policy).into_iter().collect(),
            product: rule.product,
            device_id: d.id.to_string(),
            device_key: a.device_key,
            valid: v.valid,
            code: v.code.as_str().to_owned(),
            detail: v.detail,
            updates: v.updates,
            issued_at: now.timestamp(),
            use_until: use_until.map(|u| u.timestamp()),
            refresh_after: refresh.timestamp(),
        };
        tokens.push(sign_token(&token, key).map_err(|e| Error::Internal(e.into()))?);
    }
    Ok(tokens)
}
