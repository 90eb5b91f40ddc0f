//! The server's trust anchors: the pinned root public key and the keyring
//! versions it has accepted. Keyrings are published by operators
//! (`wavecast keys publish`) or arrive, newer, inside an uploaded bundle.

use chrono::{DateTime, Utc};
use ed25519_dalek::VerifyingKey;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Set, TransactionTrait};
use wavecast_protocol::{
    envelope::Envelope,
    keyring::{open_keyring, Keyring},
    keys::{key_id, parse_public_key},
    TrustError,
};

use crate::{
    api::{KeyringView, PublishKeyring},
    audit::{self, Entry},
    auth::Caller,
    entities::{keyring, trust_root},
    error::{ApiError, ApiResult},
};

/// The root key and the newest accepted keyring.
#[derive(Debug, Clone)]
pub struct Anchors {
    pub root: VerifyingKey,
    pub current: Option<(Keyring, Envelope)>,
}

fn parse_envelope(text: &str) -> ApiResult<Envelope> {
    serde_json::from_str(text)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored keyring is not JSON: {e}")))
}

/// Loads the trust anchors; `None` before a keyring was ever published.
pub async fn load(db: &impl ConnectionTrait) -> ApiResult<Option<Anchors>> {
    let Some(root) = trust_root::Entity::find_by_id(1).one(db).await? else {
        return Ok(None);
    };
    let root = parse_public_key(&root.public_key)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored root key: {e}")))?;
    let current = match keyring::Entity::find()
        .order_by_desc(keyring::Column::Version)
        .one(db)
        .await?
    {
        Some(row) => {
            let env = parse_envelope(&row.envelope)?;
            let kr = open_keyring(&root, &env)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored keyring: {e}")))?;
            Some((kr, env))
        }
        None => None,
    };
    Ok(Some(Anchors { root, current }))
}

impl Anchors {
    /// Picks the keyring that judges a bundle: the newer of the server's
    /// current keyring and the one the bundle carries. A newer embedded keyring
    /// is returned for adoption. The chosen keyring must not be expired.
    pub fn choose(
        &self,
        embedded: &Envelope,
        now: i64,
    ) -> Result<(Keyring, Option<Envelope>), TrustError> {
        let carried = open_keyring(&self.root, embedded)?;
        match &self.current {
            Some((cur, cur_env)) if carried.version < cur.version => {
                cur.check_fresh(now, 0)?;
                Ok((cur.clone(), None))
            }
            Some((cur, cur_env)) if carried.version == cur.version => {
                if cur_env.payload != embedded.payload {
                    return Err(TrustError::KeyringEquivocation {
                        version: cur.version,
                    });
                }
                cur.check_fresh(now, 0)?;
                Ok((cur.clone(), None))
            }
            _ => {
                carried.check_fresh(now, 0)?;
                Ok((carried, Some(embedded.clone())))
            }
        }
    }
}

fn to_time(secs: i64) -> ApiResult<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| ApiError::Validation(format!("expiry {secs} is out of range")))
}

/// Stores a verified keyring if it is newer than every stored one.
pub async fn adopt(db: &impl ConnectionTrait, kr: &Keyring, env: &Envelope) -> ApiResult<bool> {
    if keyring::Entity::find_by_id(kr.version as i64)
        .one(db)
        .await?
        .is_some()
    {
        return Ok(false);
    }
    keyring::ActiveModel {
        version: Set(kr.version as i64),
        envelope: Set(serde_json::to_string(env).map_err(anyhow::Error::from)?),
        expires_at: Set(to_time(kr.expires_at)?),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(true)
}

/// The API view of the current keyring.
pub fn view(anchors: &Anchors) -> Option<KeyringView> {
    let (kr, env) = anchors.current.as_ref()?;
    Some(KeyringView {
        root_keyid: key_id(&anchors.root),
        root_public_key: wavecast_protocol::keys::public_key_text(&anchors.root),
        version: kr.version,
        expires_at: kr.expires_at,
        keys: kr.keys.clone(),
        revoked: kr.revoked.iter().cloned().collect(),
        envelope: env.clone(),
    })
}

/// Publishes a keyring: pins the root on first use, then accepts only
/// root-signed, unexpired keyrings newer than the current one (or the same
/// one again, as a no-op).
pub async fn publish(
    db: &sea_orm::DatabaseConnection,
    caller: &Caller,
    req: PublishKeyring,
) -> ApiResult<KeyringView> {
    let root = parse_public_key(&req.root_public_key).map_err(ApiError::Validation)?;
    let now = Utc::now().timestamp();
    let caller = caller.clone();
    db.transaction::<_, KeyringView, ApiError>(|txn| {
        Box::pin(async move {
            let existing = load(txn).await?;
            let pinned = match &existing {
                Some(a) if a.root != root => {
                    return Err(ApiError::Conflict(format!(
                        "this server trusts root key {}; the keyring names root key {} \
                         (replacing the root key is not supported)",
                        key_id(&a.root),
                        key_id(&root)
                    )))
                }
                Some(_) => true,
                None => false,
            };
            let kr = open_keyring(&root, &req.keyring)
                .map_err(|e| ApiError::Validation(format!("keyring refused: {e}")))?;
            kr.check_fresh(now, 0)
                .map_err(|e| ApiError::Validation(format!("keyring refused: {e}")))?;
            if let Some((cur, cur_env)) = existing.as_ref().and_then(|a| a.current.as_ref()) {
                if kr.version < cur.version {
                    return Err(ApiError::Conflict(format!(
                        "keyring refused: {}",
                        TrustError::KeyringRollback {
                            have: cur.version,
                            got: kr.version
                        }
                    )));
                }
                if kr.version == cur.version && cur_env.payload != req.keyring.payload {
                    return Err(ApiError::Conflict(format!(
                        "keyring refused: {}",
                        TrustError::KeyringEquivocation {
                            version: kr.version
                        }
                    )));
                }
            }
            if !pinned {
                trust_root::ActiveModel {
                    id: Set(1),
                    keyid: Set(key_id(&root)),
                    public_key: Set(req.root_public_key.trim().to_owned()),
                    created_at: Set(Utc::now()),
                }
                .insert(txn)
                .await?;
                audit::record(
                    txn,
                    &caller,
                    Entry {
                        action: "trust.root.pin",
                        object_type: "root_key",
                        object_id: key_id(&root),
                        details: None,
                    },
                )
                .await?;
            }
            if adopt(txn, &kr, &req.keyring).await? {
                audit::record(
                    txn,
                    &caller,
                    Entry {
                        action: "keyring.publish",
                        object_type: "keyring",
                        object_id: kr.version.to_string(),
                        details: audit::details(&serde_json::json!({
                            "keys": kr.keys.iter().map(|k| &k.keyid).collect::<Vec<_>>(),
                            "revoked": kr.revoked,
                            "expires_at": kr.expires_at,
                        })),
                    },
                )
                .await?;
            }
            let anchors = load(txn).await?.ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("keyring vanished after publishing"))
            })?;
            view(&anchors)
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no keyring after publishing")))
        })
    })
    .await
    .map_err(Into::into)
}
