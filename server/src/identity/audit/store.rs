//! Writing the audit log: every change made through the management API is
//! recorded in the same transaction as the change, with who, what, which
//! object, when and from where. [`audited`] is the one way handlers make
//! an audited change: run it, write its entry, commit.

use std::{future::Future, pin::Pin};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, NotSet, Set,
    TransactionTrait,
};
use serde::Serialize;

use crate::{
    identity::caller::Caller,
    platform::{
        entities::audit_log,
        error::{Error, Result},
    },
};

/// One entry to write. `details` carries the change's parameters (never secrets).
#[derive(Debug)]
pub struct Entry {
    pub action: &'static str,
    pub object_type: &'static str,
    pub object_id: String,
    pub details: Option<serde_json::Value>,
}

impl Entry {
    pub fn new(
        action: &'static str,
        object_type: &'static str,
        object_id: impl Into<String>,
    ) -> Self {
        Self {
            action,
            object_type,
            object_id: object_id.into(),
            details: None,
        }
    }

    /// With the change's parameters (a typed value; never secrets).
    pub fn details(mut self, details: &impl Serialize) -> Self {
        self.details = serde_json::to_value(details).ok();
        self
    }
}

/// Who made a change; the server itself acts as `system` (bootstrap, the
/// rollout scheduler, enrolments).
#[derive(Debug)]
pub struct Actor<'a> {
    pub id: Option<uuid::Uuid>,
    pub name: &'a str,
    pub token_prefix: Option<&'a str>,
    pub source_ip: Option<&'a str>,
    pub request_id: Option<&'a str>,
}

impl Actor<'static> {
    pub const SYSTEM: Actor<'static> = Actor {
        id: None,
        name: "system",
        token_prefix: None,
        source_ip: None,
        request_id: None,
    };
}

impl<'a> From<&'a Caller> for Actor<'a> {
    fn from(caller: &'a Caller) -> Self {
        Actor {
            id: Some(caller.user_id),
            name: &caller.name,
            token_prefix: Some(&caller.token_prefix),
            source_ip: caller.source_ip.as_deref(),
            request_id: caller.request_id.as_deref(),
        }
    }
}

/// Writes an entry made by an authenticated caller, at `at`.
pub async fn record(
    db: &impl ConnectionTrait,
    caller: &Caller,
    at: DateTime<Utc>,
    entry: Entry,
) -> Result<()> {
    write(db, caller.into(), at, entry).await
}

/// Writes an entry for any actor, at `at`.
pub async fn write(
    db: &impl ConnectionTrait,
    actor: Actor<'_>,
    at: DateTime<Utc>,
    entry: Entry,
) -> Result<()> {
    audit_log::ActiveModel {
        id: NotSet,
        at: Set(at),
        actor_id: Set(actor.id),
        actor_name: Set(actor.name.to_owned()),
        token_prefix: Set(actor.token_prefix.map(str::to_owned)),
        action: Set(entry.action.to_owned()),
        object_type: Set(entry.object_type.to_owned()),
        object_id: Set(entry.object_id),
        source_ip: Set(actor.source_ip.map(str::to_owned)),
        request_id: Set(actor.request_id.map(str::to_owned)),
        details: Set(entry.details),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The boxed future a change returns: its result and the audit entry
/// that describes it.
pub type Change<'c, T> = Pin<Box<dyn Future<Output = Result<(T, Entry)>> + Send + 'c>>;

/// Makes an audited change: runs `change` in a transaction, writes the
/// entry it returns as `caller` at `at` in the same transaction, and
/// commits. Either both land or neither does.
pub async fn audited<T, F>(
    db: &DatabaseConnection,
    caller: &Caller,
    at: DateTime<Utc>,
    change: F,
) -> Result<T>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c DatabaseTransaction) -> Change<'c, T> + Send + 'static,
{
    let caller = caller.clone();
    db.transaction::<_, T, Error>(move |txn| {
        Box::pin(async move {
            let (value, entry) = change(txn).await?;
            record(txn, &caller, at, entry).await?;
            Ok(value)
        })
    })
    .await
    .map_err(Error::from)
}
