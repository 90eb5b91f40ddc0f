//! First start: with no users in the database, create the `admin` user and a
//! one-time bootstrap token, printed once and stored only as a hash; the
//! token ends when it first creates a token or a user ([`spend`]), or when
//! it expires.

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, Set, TransactionTrait,
};
use uuid::Uuid;

use super::{
    audit::store::{self as audit, Actor, Entry},
    caller::Caller,
    roles::Role,
    tokens::rules as token,
};
use crate::platform::{
    entities::{api_token, user},
    error::{Error, Result},
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
                    password_hash: Set(None),
                    password_changed_at: Set(None),
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
                    bootstrap: Set(true),
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

/// What the audit log keeps of the bootstrap token's end.
#[derive(Debug, serde::Serialize)]
struct Spent {
    reason: &'static str,
}

/// Ends the caller's token if it is the bootstrap token: it is for making
/// the first lasting token or user, once. Runs in the transaction of that
/// creation, so both land or neither does.
pub async fn spend(db: &impl ConnectionTrait, caller: &Caller, now: DateTime<Utc>) -> Result<()> {
    let spent = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(now))
        .filter(api_token::Column::Id.eq(caller.token_id))
        .filter(api_token::Column::Bootstrap.eq(true))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(db)
        .await?
        .rows_affected;
    if spent > 0 {
        tracing::info!(token = %caller.token_prefix, "the bootstrap token was used and no longer works");
        let entry =
            Entry::new("token.revoke", "token", caller.token_prefix.clone()).details(&Spent {
                reason: "the one-time bootstrap token was used",
            });
        audit::write(db, Actor::SYSTEM, now, entry).await?;
    }
    Ok(())
}

/// The banner printed once with the bootstrap token.
pub fn banner(token: &str, ttl_hours: u32, server: &str) -> String {
    format!(
        "\n\
         ==================================================================\n\
         Wavecast created the first administrator, \"{BOOTSTRAP_ADMIN}\".\n\
         One-time bootstrap token (shown only now; it stops working once it\n\
         has created a token or a user, or after {ttl_hours} h):\n\
         \n    {token}\n\n\
         Create a lasting token of your own with it:\n\
         \n    wavecast --server {server} --token {token} tokens create --name my-laptop\n\
         ==================================================================\n"
    )
}
