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
    identity::{
        audit::store::{self as audit, Entry},
        caller::Caller,
    },
    platform::{
        entities::{keyring, trust_root},
        error::{Error, Result},
    },
    updates::views::{KeyringView, PublishKeyring},
};

/// The root key and the newest accepted keyring.
#[derive(Debug, Clone)]
pub struct Anchors {
    pub root: VerifyingKey,
    pub current: Option<(Keyring, Envelope)>,
}

fn parse_envelope(text: &str) -> Result<Envelope> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(anyhow::anyhow!("stored keyring is not JSON: {e}")))
}

/// Loads the trust anchors; `None` before a keyring was ever published.
pub async fn load(db: &impl ConnectionTrait) -> Result<Option<Anchors>> {
    let Some(root) = trust_root::Entity::find_by_id(1).one(db).await? else {
        return Ok(None);
    };
    let root = parse_public_key(&root.public_key)
        .map_err(|e| Error::Internal(anyhow::anyhow!("stored root key: {e}")))?;
    let current = match keyring::Entity::find()
        .order_by_desc(keyring::Column::Version)
        .one(db)
        .await?
    {
        Some(row) => {
            let env = parse_envelope(&row.envelope)?;
            let kr = open_keyring(&root, &env)
                .map_err(|e| Error::Internal(anyhow::anyhow!("stored keyring: {e}")))?;
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

fn to_time(secs: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
        .ok_or_else(|| Error::Validation(format!("expiry {secs} is out of range")))
}

/// Stores a verified keyring, at `now`, if it is newer than every stored one.
pub async fn adopt(
    db: &impl ConnectionTrait,
    kr: &Keyring,
    env: &Envelope,
    now: DateTime<Utc>,
) -> Result<bool> {
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
        created_at: Set(now),
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

/// What the audit log keeps of a published keyring.
#[derive(Debug, serde::Serialize)]
struct Published {
    keys: Vec<String>,
    revoked: Vec<String>,
    expires_at: i64,
}

/// Publishes a keyring: pins the root on first use, then accepts only
/// root-signed, unexpired keyrings newer than the current one (or the same
/// one again, as a no-op).
pub async fn publish(
    db: &sea_orm::DatabaseConnection,
    caller: &Caller,
    req: PublishKeyring,
    at: DateTime<Utc>,
) -> Result<KeyringView> {
    let root = parse_public_key(&req.root_public_key).map_err(Error::Validation)?;
    let now = at.timestamp();
    let caller = caller.clone();
    db.transaction::<_, KeyringView, Error>(|txn| {
        Box::pin(async move {
            let existing = load(txn).await?;
            let pinned = match &existing {
                Some(a) if a.root != root => {
                    return Err(Error::Conflict(format!(
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
                .map_err(|e| Error::Validation(format!("keyring refused: {e}")))?;
            kr.check_fresh(now, 0)
                .map_err(|e| Error::Validation(format!("keyring refused: {e}")))?;
            if let Some((cur, cur_env)) = existing.as_ref().and_then(|a| a.current.as_ref()) {
                if kr.version < cur.version {
                    return Err(Error::Conflict(format!(
                        "keyring refused: {}",
                        TrustError::KeyringRollback {
                            have: cur.version,
                            got: kr.version
                        }
                    )));
                }
                if kr.version == cur.version && cur_env.payload != req.keyring.payload {
                    return Err(Error::Conflict(format!(
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
                    created_at: Set(at),
                }
                .insert(txn)
                .await?;
                let entry = Entry::new("trust.root.pin", "root_key", key_id(&root));
                audit::record(txn, &caller, at, entry).await?;
            }
            if adopt(txn, &kr, &req.keyring, at).await? {
                let entry = Entry::new("keyring.publish", "keyring", kr.version.to_string())
                    .details(&Published {
                        keys: kr.keys.iter().map(|k| k.keyid.clone()).collect(),
                        revoked: kr.revoked.iter().cloned().collect(),
                        expires_at: kr.expires_at,
                    });
                audit::record(txn, &caller, at, entry).await?;
            }
            let anchors = load(txn).await?.ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("keyring vanished after publishing"))
            })?;
            view(&anchors)
                .ok_or_else(|| Error::Internal(anyhow::anyhow!("no keyring after publishing")))
        })
    })
    .await
    .map_err(Into::into)
}
