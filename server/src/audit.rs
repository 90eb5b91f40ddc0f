//! The audit log: every change made through the management API is recorded,
//! in the same transaction as the change, with who, what, which object, when
//! and from where.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, NotSet, Set};
use serde::Serialize;

use crate::{auth::Caller, entities::audit_log, error::ApiResult};

/// One entry to write. `details` carries the change's parameters (never secrets).
#[derive(Debug)]
pub struct Entry<'a> {
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: String,
    pub details: Option<serde_json::Value>,
}

/// Writes an entry made by an authenticated caller.
pub async fn record(db: &impl ConnectionTrait, caller: &Caller, entry: Entry<'_>) -> ApiResult<()> {
    write(
        db,
        Actor {
            id: Some(caller.user_id),
            name: &caller.name,
            token_prefix: Some(&caller.token_prefix),
            source_ip: caller.source_ip.as_deref(),
            request_id: caller.request_id.as_deref(),
        },
        entry,
    )
    .await
}

/// Who made a change; the server itself acts as `system` (e.g. bootstrap).
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

/// Writes an entry for any actor.
pub async fn write(db: &impl ConnectionTrait, actor: Actor<'_>, entry: Entry<'_>) -> ApiResult<()> {
    audit_log::ActiveModel {
        id: NotSet,
        at: Set(Utc::now()),
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

/// Serialises change parameters for `details`.
pub fn details(value: &impl Serialize) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}
