//! Devices at the SQL edge: finding a box by id or serial, searching the
//! fleet by status, model, revision, region, tag, inventory, presence and
//! serial prefix, the view the API shows, and reading what a box reported
//! (components, tags) back from its row.

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Alias, Expr},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use uuid::Uuid;
use wavecast_protocol::checkin::Component;

use super::rules::DeviceStatus;
use crate::{
    fleet::views::{DeviceQuery, DeviceView},
    identity::tokens::rules::{self as token, Scheme},
    platform::{
        entities::device,
        error::{Error, Result},
    },
    updates::checkin::offers::Installed,
};

/// The API's view of a stored device.
pub fn device_view(d: device::Model) -> DeviceView {
    let tags = tags_of(&d);
    DeviceView {
        id: d.id,
        status: d.status,
        serial: d.serial,
        model: d.model,
        hardware_revision: d.hardware_revision,
        public_key: d.public_key,
        credential_prefix: d.credential_prefix,
        credential_expires_at: d.credential_expires_at,
        agent_version: d.agent_version,
        boot_slot: d.boot_slot,
        timezone: d.timezone,
        region: d.region,
        tags,
        installed: d.installed.unwrap_or(serde_json::Value::Null),
        created_at: d.created_at,
        accepted_at: d.accepted_at,
        last_seen_at: d.last_seen_at,
        subscriber_id: d.subscriber_id,
        activated_at: d.activated_at,
        warranty_void_reason: d.warranty_void_reason,
        replaced_by: d.replaced_by,
    }
}

/// Finds a device by id or serial (404 when there is none).
pub async fn find(db: &impl ConnectionTrait, reference: &str) -> Result<device::Model> {
    let select = match Uuid::parse_str(reference) {
        Ok(id) => device::Entity::find_by_id(id),
        Err(_) => device::Entity::find().filter(device::Column::Serial.eq(reference)),
    };
    select
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no device {reference:?} (use an id or a serial)")))
}

/// The components a device reported at its latest check-in (none when it
/// has not yet).
pub fn components_of(d: &device::Model) -> Vec<Component> {
    d.installed
        .as_ref()
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// The components a device reported, as the offer rules see them.
pub fn installed_of(d: &device::Model) -> Vec<Installed> {
    installed_from(&components_of(d))
}

/// Reported components as the offer rules see them.
pub fn installed_from(components: &[Component]) -> Vec<Installed> {
    components
        .iter()
        .map(|c| Installed {
            name: c.name.clone(),
            version: c.version.clone(),
            security_version: c.security_version,
        })
        .collect()
}

/// The tags of a device.
pub fn tags_of(d: &device::Model) -> Vec<String> {
    d.tags
        .as_ref()
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or_default()
}

/// The accepted device whose credential `presented` is unexpired at `now`.
/// Used by the HTTP extractor and by the embedded MQTT broker alike.
pub async fn authenticate(
    db: &DatabaseConnection,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<device::Model> {
    let invalid = || Error::Unauthorized("invalid device credential; enrol again".into());
    let prefix = token::prefix_in(Scheme::Device, presented).ok_or_else(invalid)?;
    let d = device::Entity::find()
        .filter(device::Column::CredentialPrefix.eq(prefix))
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    let hash_ok = d
        .credential_hash
        .as_deref()
        .is_some_and(|h| token::matches(presented, h));
    if !hash_ok {
        return Err(invalid());
    }
    if d.credential_expires_at.is_none_or(|at| at <= now) {
        return Err(Error::Unauthorized(
            "the device credential has expired; enrol again with the device key".into(),
        ));
    }
    if d.status != DeviceStatus::Accepted {
        return Err(Error::Forbidden(format!("this device is {}", d.status)));
    }
    Ok(d)
}

/// The boxes `q` selects at `now` (a box heard from within `online_secs`
/// is online), by serial, with how many there are in all: its `limit`
/// (default 100, at most 1000) from its `offset`.
pub async fn search(
    db: &impl ConnectionTrait,
    q: &DeviceQuery,
    now: DateTime<Utc>,
    online_secs: u64,
) -> Result<(u64, Vec<device::Model>)> {
    let limit = crate::http::params::limit(q.limit, 100, 1000)?;
    let like = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    };
    let mut select = device::Entity::find().order_by_asc(device::Column::Serial);
    if let Some(s) = q.status.as_deref().filter(|s| !s.is_empty()) {
        let s: DeviceStatus = s.parse().map_err(Error::Validation)?;
        select = select.filter(device::Column::Status.eq(s));
    }
    for (col, v) in [
        (device::Column::Model, &q.model),
        (device::Column::HardwareRevision, &q.revision),
        (device::Column::Region, &q.region),
    ] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            select = select.filter(col.eq(v));
        }
    }
    if let Some(prefix) = q.q.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        select = select.filter(device::Column::Serial.like(format!("{}%", like(prefix))));
    }
    // Tags and inventory are JSON: matched on their text, as stored.
    let text = |col: device::Column| Expr::col(col).cast_as(Alias::new("text"));
    if let Some(tag) = q.tag.as_deref().filter(|v| !v.is_empty()) {
        let needle = serde_json::to_string(tag).unwrap_or_default();
        select = select.filter(text(device::Column::Tags).like(format!("%{}%", like(&needle))));
    }
    if let Some(inst) = q.installed.as_deref().filter(|v| !v.is_empty()) {
        let (name, version) = inst
            .split_once('@')
            .map_or((inst, None), |(n, v)| (n, Some(v)));
        let mut needle = format!(
            "\"name\":{}",
            serde_json::to_string(name).unwrap_or_default()
        );
        if let Some(v) = version {
            needle.push_str(&format!(
                ",\"version\":{}",
                serde_json::to_string(v).unwrap_or_default()
            ));
        }
        select =
            select.filter(text(device::Column::Installed).like(format!("%{}%", like(&needle))));
    }
    if let Some(online) = q.online {
        let since =
            now - chrono::TimeDelta::seconds(i64::try_from(online_secs).unwrap_or(i64::MAX));
        select = if online {
            select.filter(device::Column::LastSeenAt.gte(since))
        } else {
            select.filter(
                sea_orm::Condition::any()
                    .add(device::Column::LastSeenAt.lt(since))
                    .add(device::Column::LastSeenAt.is_null()),
            )
        };
    }
    let total = select.clone().count(db).await?;
    let items = select
        .offset(q.offset.unwrap_or(0))
        .limit(limit)
        .all(db)
        .await?;
    Ok((total, items))
}
