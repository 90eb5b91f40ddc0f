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
        client: d.client,
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

/// Runs `each` on every device row, `chunk` rows at a time in id order,
/// as the tuples `columns` select (the id first; `id` reads it back), so
/// that a pass over a million boxes never holds a connection for long.
/// Callers filter in `each`, not in SQL: filtered on status, a database
/// may walk the status index and sort every match again for each chunk;
/// walking the primary key costs one row per box.
pub async fn each_chunk<R: sea_orm::TryGetableMany>(
    db: &impl ConnectionTrait,
    columns: &[device::Column],
    chunk: u64,
    id: impl Fn(&R) -> Uuid,
    mut each: impl FnMut(Vec<R>),
) -> Result<()> {
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = device::Entity::find()
            .select_only()
            .columns(columns.iter().copied())
            .order_by_asc(device::Column::Id)
            .limit(chunk);
        if let Some(last) = after {
            q = q.filter(device::Column::Id.gt(last));
        }
        let rows: Vec<R> = q.into_tuple().all(db).await?;
        let n = rows.len() as u64;
        after = rows.last().map(&id);
        each(rows);
        if n < chunk {
            return Ok(());
        }
    }
}

/// How many boxes a search counts before it stops: `All`, or `UpTo(n)`,
/// where finding more than `n` answers `n + 1` (a page says "more than
/// n"; counting every match of a broad filter over a million boxes would
/// cost more than the page itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    All,
    UpTo(u64),
}

/// The boxes `q` matches, a page of them in serial order, and how many
/// match (see [`Count`]).
pub async fn search(
    db: &impl ConnectionTrait,
    q: &DeviceQuery,
    now: DateTime<Utc>,
    online_secs: u64,
    count: Count,
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
        // The range lets the serial index find the prefix on both
        // backends (SQLite's LIKE cannot use it); LIKE keeps the answer
        // exact whatever the collation.
        select = select
            .filter(device::Column::Serial.gte(prefix))
            .filter(device::Column::Serial.lt(format!("{prefix}\u{10FFFF}")))
            .filter(device::Column::Serial.like(format!("{}%", like(prefix))));
    }
    // Tags are a JSON list of strings: a tag is its quoted text in it.
    if let Some(tag) = q.tag.as_deref().filter(|v| !v.is_empty()) {
        let needle = serde_json::to_string(tag).unwrap_or_default();
        let text = Expr::col(device::Column::Tags).cast_as(Alias::new("text"));
        select = select.filter(text.like(format!("%{}%", like(&needle))));
    }
    if let Some(inst) = q.installed.as_deref().filter(|v| !v.is_empty()) {
        let (name, version) = inst
            .split_once('@')
            .map_or((inst, None), |(n, v)| (n, Some(v)));
        select = select.filter(has_component(db.get_database_backend(), name, version));
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
    let total = match count {
        Count::All => select.clone().count(db).await?,
        Count::UpTo(n) => count_up_to(db, select.clone(), n).await?,
    };
    let items = select
        .offset(q.offset.unwrap_or(0))
        .limit(limit)
        .all(db)
        .await?;
    Ok((total, items))
}

/// Whether a box's inventory holds component `name` (at `version`), in
/// each backend's JSON functions: the stored object's keys may come in any
/// order, so its text cannot be matched.
fn has_component(
    backend: sea_orm::DatabaseBackend,
    name: &str,
    version: Option<&str>,
) -> sea_orm::sea_query::SimpleExpr {
    match backend {
        sea_orm::DatabaseBackend::Postgres => {
            let mut wanted = serde_json::json!({ "name": name });
            if let Some(v) = version {
                wanted["version"] = v.into();
            }
            Expr::cust_with_values(
                "devices.installed::jsonb @> $1::jsonb",
                [serde_json::Value::Array(vec![wanted]).to_string()],
            )
        }
        _ => Expr::cust_with_values(
            "EXISTS (SELECT 1 FROM json_each(devices.installed) AS c \
             WHERE json_extract(c.value, '$.name') = ? \
             AND (? IS NULL OR json_extract(c.value, '$.version') = ?))",
            [
                sea_orm::Value::from(name.to_owned()),
                sea_orm::Value::from(version.map(str::to_owned)),
                sea_orm::Value::from(version.map(str::to_owned)),
            ],
        ),
    }
}

/// How many rows `select` finds, counting no further than `n + 1`.
async fn count_up_to(
    db: &impl ConnectionTrait,
    select: sea_orm::Select<device::Entity>,
    n: u64,
) -> Result<u64> {
    use sea_orm::{sea_query::Query, QueryTrait};
    let mut inner = select
        .select_only()
        .column(device::Column::Id)
        .limit(n.saturating_add(1))
        .into_query();
    inner.clear_order_by();
    let outer = Query::select()
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .from_subquery(inner, Alias::new("m"))
        .to_owned();
    let row = db
        .query_one(db.get_database_backend().build(&outer))
        .await?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a count answered no row")))?;
    let found: i64 = row.try_get("", "n")?;
    Ok(u64::try_from(found).unwrap_or_default())
}
