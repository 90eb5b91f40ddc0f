//! First start: with no users in the database, create the `admin` user and a
//! one-time bootstrap token, printed once and stored only as a hash.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Set, TransactionTrait,
};
use uuid::Uuid;

use super::{
    audit::store::{self as audit, Actor, Entry},
    roles::Role,
    tokens::rules as token,
};
use crate::platform::{
    entities::{api_token, user},
    error::Error,
};

/// The name of the administrator created on first start.
pub const BOOTSTRAP_ADMIN: &str = "admin";

/// What the audit log keeps of the first start.
#[derive(Debug, serde::Serialize)]
struct Bootstrapped {
    token_prefix: String,
    expires_at: DateTime<Utc>,
}

/// Creates the first admin and returns its token text, or `None` when the
/// database already has users. Safe when several instances start at once:
/// the unique user name lets only one of them win.
pub async fn ensure_admin(
    db: &DatabaseConnection,
    ttl_hours: u32,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    if user::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let new = token::generate();
    let plaintext = new.plaintext.clone();
    let result = db
        .transaction::<_, (), Error>(|txn| {
            Box::pin(async move {
                let admin = user::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    name: Set(BOOTSTRAP_ADMIN.to_owned()),
                    display_name: Set("Administrator".to_owned()),
                    role: Set(Role::Admin),
                    disabled: Set(false),
                    created_at: Set(now),
                }
                .insert(txn)
                .await?;
                let expires_at = now + TimeDelta::hours(i64::from(ttl_hours.max(1)));
                api_token::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    user_id: Set(admin.id),
                    name: Set("bootstrap".to_owned()),
                    prefix: Set(new.prefix.clone()),
                    secret_hash: Set(new.hash),
                    created_at: Set(now),
                    expires_at: Set(Some(expires_at)),
                    revoked_at: Set(None),
                    last_used_at: Set(None),
                }
                .insert(txn)
                .await?;
                audit::write(
                    txn,
                    Actor::SYSTEM,
                    now,
                    Entry::new("server.bootstrap", "user", BOOTSTRAP_ADMIN).details(
                        &Bootstrapped {
                            token_prefix: new.prefix,
                            expires_at,
                        },
                    ),
                )
                .await?;
                Ok(())
            })
        })
        .await;
    match result {
        Ok(()) => Ok(Some(plaintext)),
        // Another instance created the admin first.
        Err(_) if user::Entity::find().count(db).await? > 0 => Ok(None),
        Err(e) => Err(anyhow::anyhow!("cannot create the first admin: {e}")),
    }
}

/// The banner printed once with the bootstrap token.
pub fn banner(token: &str, ttl_hours: u32, server: &str) -> String {
    format!(
        "\n\
         ==================================================================\n\
         Wavecast created the first administrator, \"{BOOTSTRAP_ADMIN}\".\n\
         One-time bootstrap token (shown only now, valid {ttl_hours} h):\n\
         \n    {token}\n\n\
         Create a lasting token of your own with it:\n\
         \n    wavecast --server {server} --token {token} tokens create --name my-laptop\n\
         ==================================================================\n"
    )
}
