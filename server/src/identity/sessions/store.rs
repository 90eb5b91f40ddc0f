//! Console sessions at the SQL edge: signing in (a fresh random id,
//! stored only as its SHA-256, and the session's CSRF token), finding the
//! session a cookie names (with its user; the last activity written at most
//! once a minute), signing out, ending every session of a user, and failed
//! sign-ins for throttling.

use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::rules::{self, Ended, Lifetimes};
use crate::platform::{
    entities::{console_session, sign_in_failure, user},
    error::Result,
};

/// A new session: the cookie's secret (never stored) and the CSRF token.
#[derive(Debug)]
pub struct NewSession {
    pub secret: String,
    pub csrf: String,
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Starts a session for `user_id` at `now`.
pub async fn create(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    source_ip: Option<String>,
    life: Lifetimes,
    now: DateTime<Utc>,
) -> Result<NewSession> {
    let (secret, csrf) = (random_hex(), random_hex());
    console_session::ActiveModel {
        id_hash: Set(digest(&secret)),
        user_id: Set(user_id),
        csrf: Set(csrf.clone()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(now + life.absolute),
        ended_at: Set(None),
        source_ip: Set(source_ip.map(|ip| ip.chars().take(64).collect())),
    }
    .insert(db)
    .await?;
    Ok(NewSession { secret, csrf })
}

/// The live session `secret` names, with its user (who must not be
/// disabled); why not, when it has ended. Writes the last activity when due.
pub async fn find(
    db: &impl ConnectionTrait,
    secret: &str,
    idle: TimeDelta,
    now: DateTime<Utc>,
) -> Result<std::result::Result<(console_session::Model, user::Model), Ended>> {
    let Some(s) = console_session::Entity::find_by_id(digest(secret))
        .one(db)
        .await?
    else {
        return Ok(Err(Ended::Ended));
    };
    if let Err(why) = rules::alive(
        s.last_seen_at,
        s.expires_at,
        s.ended_at.is_some(),
        idle,
        now,
    ) {
        return Ok(Err(why));
    }
    let Some(u) = user::Entity::find_by_id(s.user_id).one(db).await? else {
        return Ok(Err(Ended::Ended));
    };
    if u.disabled {
        return Ok(Err(Ended::Ended));
    }
    let s = if rules::touch_due(s.last_seen_at, now) {
        let mut m: console_session::ActiveModel = s.into();
        m.last_seen_at = Set(now);
        m.update(db).await?
    } else {
        s
    };
    Ok(Ok((s, u)))
}

/// Ends the session `secret` names (signing out).
pub async fn end(db: &impl ConnectionTrait, secret: &str, now: DateTime<Utc>) -> Result<()> {
    console_session::Entity::update_many()
        .col_expr(console_session::Column::EndedAt, Expr::value(now))
        .filter(console_session::Column::IdHash.eq(digest(secret)))
        .filter(console_session::Column::EndedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every live session of `user_id` (a password change, disabling).
pub async fn end_all(db: &impl ConnectionTrait, user_id: Uuid, now: DateTime<Utc>) -> Result<u64> {
    Ok(console_session::Entity::update_many()
        .col_expr(console_session::Column::EndedAt, Expr::value(now))
        .filter(console_session::Column::UserId.eq(user_id))
        .filter(console_session::Column::EndedAt.is_null())
        .exec(db)
        .await?
        .rows_affected)
}

/// Records a failed sign-in under each of `keys` (`user:NAME`, `ip:ADDR`).
pub async fn record_failure(
    db: &impl ConnectionTrait,
    keys: &[String],
    now: DateTime<Utc>,
) -> Result<()> {
    for key in keys {
        sign_in_failure::ActiveModel {
            key: Set(key.chars().take(200).collect()),
            at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Failed sign-ins under `key` since `since`.
pub async fn failures_since(
    db: &impl ConnectionTrait,
    key: &str,
    since: DateTime<Utc>,
) -> Result<u64> {
    Ok(sign_in_failure::Entity::find()
        .filter(sign_in_failure::Column::Key.eq(key))
        .filter(sign_in_failure::Column::At.gte(since))
        .count(db)
        .await?)
}

/// Forgets failures older than `before` (kept small by the session job).
pub async fn forget_failures(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64> {
    Ok(sign_in_failure::Entity::delete_many()
        .filter(sign_in_failure::Column::At.lt(before))
        .exec(db)
        .await?
        .rows_affected)
}
