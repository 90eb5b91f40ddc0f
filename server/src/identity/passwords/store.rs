//! Passwords at the SQL edge: hashing and checking off the async workers
//! (Argon2id takes tens of milliseconds by design), and setting a user's
//! password, which ends every console session of that user.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

use super::rules;
use crate::{
    identity::sessions::store as sessions,
    platform::{
        entities::user,
        error::{Error, Result},
    },
};

/// [`rules::hash`] on a blocking thread.
pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || rules::hash(&password))
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("password hashing stopped: {e}")))?
        .map_err(|e| Error::Internal(anyhow::anyhow!(e)))
}

/// [`rules::verify`] on a blocking thread.
pub async fn verify(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || rules::verify(&password, &phc))
        .await
        .unwrap_or(false)
}

/// Stores `phc` as `u`'s password at `now` and ends their console
/// sessions (in the caller's transaction).
pub async fn set(
    db: &impl ConnectionTrait,
    u: user::Model,
    phc: String,
    now: DateTime<Utc>,
) -> Result<user::Model> {
    let id = u.id;
    let mut m: user::ActiveModel = u.into();
    m.password_hash = Set(Some(phc));
    m.password_changed_at = Set(Some(now));
    let u = m.update(db).await?;
    sessions::end_all(db, id, now).await?;
    Ok(u)
}

/// A new password checked against the policy (422 with the reason).
pub fn checked(password: &str, user_name: &str) -> Result<()> {
    rules::check(password, user_name).map_err(Error::Validation)
}
