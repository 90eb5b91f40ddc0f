//! First start: with no users in the database, create the `admin` user and a
//! one-time bootstrap token, printed once and stored only as a hash.

use chrono::{TimeDelta, Utc};
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Set, TransactionTrait,
};
use uuid::Uuid;

use crate::{
    audit::{self, Actor, Entry},
    domain::{role::Role, token},
    entities::{api_token, user},
    error::ApiError,
};

/// The name of the administrator created on first start.
pub const BOOTSTRAP_ADMIN: &str = "admin";

/// Creates the first admin and returns its token text, or `None` when the
/// database already has users. Safe when several instances start at once:
/// the unique user name lets only one of them win.
pub async fn ensure_admin(
    db: &DatabaseConnection,
    ttl_hours: u32,
) -> anyhow::Result<Option<String>> {
    if user::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let new = token::generate();
    let plaintext = new.plaintext.clone();
    let result = db
        .transaction::<_, (), ApiError>(|txn| {
            Box::pin(async move {
                let now = Utc::now();
                let admin = user::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    name: Set(BOOTSTRAP_ADMIN.to_owned()),
                    display_name: Set("Administrator".to_owned()),
                    role: Set(Role::Admin.as_str().to_owned()),
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
                    Entry {
                        action: "server.bootstrap",
                        object_type: "user",
                        object_id: BOOTSTRAP_ADMIN.to_owned(),
                        details: audit::details(&serde_json::json!({
                            "token_prefix": new.prefix,
                            "expires_at": expires_at,
                        })),
                    },
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
