//! The device directory: what a check-in needs to know about each accepted
//! box, in memory, keyed by credential prefix, so that the common check-in
//! ("nothing new") touches no database at all.
//!
//! It is a copy of the `devices` table and follows it three ways:
//! - at start it fills in the background, a page of rows at a time (until a
//!   box is in it, its check-in reads the database and adds it);
//! - what this process changes it puts at once (enrolment, acceptance,
//!   decommissioning, inventory);
//! - every `devices.directory_sync_millis`, from the start, it reads the
//!   rows whose `changed_at` moved, so changes made by other instances on
//!   the same database (a decommissioning above all) apply within about a
//!   second. Each read reaches 15 s behind the previous one, so a late
//!   commit or an instance clock a little behind loses nothing; instances
//!   are expected to keep NTP time.
//!
//! Only accepted boxes with a credential are in it. An entry holds the
//! credential's hash, never the credential; every use checks the hash
//! (constant time) and the expiry again.

use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
    sync::{Arc, RwLock},
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::devices::{rules::DeviceStatus, store::tags_of};
use crate::{
    identity::tokens::rules::{self as token, Scheme},
    platform::{clock::Clock, entities::device, error::Error},
};

/// A box as check-ins see it.
#[derive(Debug)]
pub struct Entry {
    pub id: Uuid,
    credential_hash: Box<str>,
    pub credential_expires_at: DateTime<Utc>,
    pub serial: Box<str>,
    pub model: Box<str>,
    pub revision: Box<str>,
    pub region: Option<Box<str>>,
    pub tags: Vec<String>,
    pub timezone: Option<Box<str>>,
    pub boot_slot: Option<Box<str>>,
    pub agent_version: Option<Box<str>>,
    /// A digest of the stored inventory (see [`inventory_digest`]).
    pub inventory: u64,
    pub last_seen_at: Option<DateTime<Utc>>,
}

/// A digest of an inventory as stored (a JSON value), to tell at check-in
/// whether what the box reports differs, without keeping it.
pub fn inventory_digest(installed: Option<&serde_json::Value>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    installed.map(|v| v.to_string()).hash(&mut h);
    h.finish()
}

impl Entry {
    fn of(d: &device::Model) -> Option<(Box<str>, Entry)> {
        if d.status != DeviceStatus::Accepted {
            return None;
        }
        let prefix = d.credential_prefix.as_deref()?;
        Some((
            prefix.into(),
            Entry {
                id: d.id,
                credential_hash: d.credential_hash.as_deref()?.into(),
                credential_expires_at: d.credential_expires_at?,
                serial: d.serial.as_str().into(),
                model: d.model.as_str().into(),
                revision: d.hardware_revision.as_str().into(),
                region: d.region.as_deref().map(Into::into),
                tags: tags_of(d),
                timezone: d.timezone.as_deref().map(Into::into),
                boot_slot: d.boot_slot.as_deref().map(Into::into),
                agent_version: d.agent_version.as_deref().map(Into::into),
                inventory: inventory_digest(d.installed.as_ref()),
                last_seen_at: d.last_seen_at,
            },
        ))
    }
}

#[derive(Debug, Default)]
struct Maps {
    by_prefix: HashMap<Box<str>, Arc<Entry>>,
    prefix_of: HashMap<Uuid, Box<str>>,
    /// While the fill runs: boxes put or removed since it started, whose
    /// rows the fill may have read before the change and must not apply.
    touched: Option<std::collections::HashSet<Uuid>>,
}

impl Maps {
    fn apply(&mut self, d: &device::Model) -> Option<Arc<Entry>> {
        if let Some(old) = self.prefix_of.remove(&d.id) {
            self.by_prefix.remove(&old);
        }
        let (prefix, entry) = Entry::of(d)?;
        let entry = Arc::new(entry);
        self.prefix_of.insert(d.id, prefix.clone());
        self.by_prefix.insert(prefix, entry.clone());
        Some(entry)
    }

    fn touch(&mut self, id: Uuid) {
        if let Some(t) = &mut self.touched {
            t.insert(id);
        }
    }
}

/// The directory; shared by every worker.
#[derive(Debug, Default)]
pub struct Directory {
    maps: RwLock<Maps>,
    filled: std::sync::atomic::AtomicBool,
}

impl Directory {
    /// Whether the fill at start has finished.
    pub fn is_filled(&self) -> bool {
        self.filled.load(std::sync::atomic::Ordering::Acquire)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Maps> {
        self.maps.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Maps> {
        self.maps.write().unwrap_or_else(|p| p.into_inner())
    }

    /// How many boxes it holds.
    pub fn len(&self) -> usize {
        self.read().by_prefix.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records a device row as it now stands: an accepted box with a
    /// credential replaces its previous entry; anything else removes it.
    pub fn put(&self, d: &device::Model) -> Option<Arc<Entry>> {
        let mut maps = self.write();
        maps.touch(d.id);
        maps.apply(d)
    }

    /// [`Directory::put`] for several rows under one lock.
    fn put_all(&self, rows: &[&device::Model]) {
        let mut maps = self.write();
        for d in rows {
            maps.touch(d.id);
            maps.apply(d);
        }
    }

    /// Applies rows read by the fill, except for boxes put or removed since
    /// the fill started: memory is newer than those rows.
    fn apply_filled(&self, rows: &[device::Model]) {
        let mut maps = self.write();
        for d in rows {
            if maps.touched.as_ref().is_some_and(|t| t.contains(&d.id)) {
                continue;
            }
            maps.apply(d);
        }
    }

    /// The accepted box `id`, if this directory holds it.
    pub fn by_id(&self, id: Uuid) -> Option<Arc<Entry>> {
        let maps = self.read();
        let prefix = maps.prefix_of.get(&id)?;
        maps.by_prefix.get(prefix).cloned()
    }

    /// Forgets a box (decommissioned, rejected).
    pub fn remove(&self, id: Uuid) {
        let mut maps = self.write();
        maps.touch(id);
        if let Some(old) = maps.prefix_of.remove(&id) {
            maps.by_prefix.remove(&old);
        }
    }

    /// The accepted box whose credential `presented` is unexpired at
    /// `now`, from memory, or from the database (and then remembered).
    pub async fn authenticate(
        &self,
        db: &DatabaseConnection,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<Entry>, Error> {
        let invalid = || Error::Unauthorized("invalid device credential; enrol again".into());
        let prefix = token::prefix_in(Scheme::Device, presented).ok_or_else(invalid)?;
        let known = self.read().by_prefix.get(prefix).cloned();
        let entry = match known {
            Some(e) => e,
            None => {
                let d = super::devices::store::authenticate(db, presented, now).await?;
                return self.put(&d).ok_or_else(invalid);
            }
        };
        if !token::matches(presented, &entry.credential_hash) {
            return Err(invalid());
        }
        if entry.credential_expires_at <= now {
            return Err(Error::Unauthorized(
                "the device credential has expired; enrol again with the device key".into(),
            ));
        }
        Ok(entry)
    }
}

/// Rows fetched per page while filling at start.
const PAGE: u64 = 5_000;

/// Fills the directory in the background and follows `changed_at` from the
/// start (the fill of a large fleet takes a while; changes meanwhile must
/// not wait for it).
pub fn spawn(db: DatabaseConnection, dir: Arc<Directory>, every: Duration, clock: Clock) {
    dir.write().touched = Some(Default::default());
    let (fill_db, fill_dir) = (db.clone(), dir.clone());
    tokio::spawn(async move {
        if let Err(e) = fill(&fill_db, &fill_dir).await {
            tracing::warn!(error = %e, "device directory fill stopped; boxes load on first check-in");
        }
        fill_dir.write().touched = None;
        fill_dir
            .filled
            .store(true, std::sync::atomic::Ordering::Release);
        tracing::info!(devices = fill_dir.len(), "device directory filled");
    });
    tokio::spawn(async move {
        let mut watermark = clock.now() - OVERLAP;
        let mut seen = HashMap::new();
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(50)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match follow(&db, &dir, watermark, &mut seen, clock.now()).await {
                Ok((next, _)) => watermark = next,
                Err(e) => tracing::warn!(error = %e, "cannot read device changes"),
            }
        }
    });
}

/// How far back each read of changes reaches before the previous one: rows
/// committed late or stamped by an instance whose clock is behind are still
/// seen if within this (instances are expected to keep NTP time).
const OVERLAP: TimeDelta = TimeDelta::seconds(15);

async fn fill(db: &DatabaseConnection, dir: &Directory) -> Result<(), sea_orm::DbErr> {
    let mut after: Option<Uuid> = None;
    loop {
        // Paged by primary key alone, so each page is a seek: filtering on
        // status in SQL made the database sort every accepted box per page.
        // Other boxes are skipped when applied.
        let mut q = device::Entity::find()
            .order_by_asc(device::Column::Id)
            .limit(PAGE);
        if let Some(id) = after {
            q = q.filter(device::Column::Id.gt(id));
        }
        let rows = q.all(db).await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = Some(last.id);
        dir.apply_filled(&rows);
        tokio::task::yield_now().await;
    }
}

/// Applies the rows changed since `since`, a page at a time (a burst of
/// changes, such as a large import, never sits in memory whole); returns the
/// next watermark, [`OVERLAP`] before this read. Rows read again within the
/// overlap are applied only if they changed again (`seen` remembers what
/// was applied within it), so a burst costs the directory one write each.
async fn follow(
    db: &DatabaseConnection,
    dir: &Directory,
    since: DateTime<Utc>,
    seen: &mut HashMap<Uuid, DateTime<Utc>>,
    started: DateTime<Utc>,
) -> Result<(DateTime<Utc>, usize), sea_orm::DbErr> {
    use sea_orm::sea_query::Expr;
    let mut after: Option<(DateTime<Utc>, Uuid)> = None;
    let mut applied = 0usize;
    loop {
        let mut q = device::Entity::find()
            .filter(device::Column::ChangedAt.gte(since))
            .order_by_asc(device::Column::ChangedAt)
            .order_by_asc(device::Column::Id)
            .limit(PAGE);
        if let Some((at, id)) = after {
            // `(changed_at, id) > (at, id)`: a seek in the index on both.
            q = q.filter(
                Expr::tuple([
                    Expr::col(device::Column::ChangedAt).into(),
                    Expr::col(device::Column::Id).into(),
                ])
                .gt(Expr::tuple([Expr::val(at).into(), Expr::val(id).into()])),
            );
        }
        let rows = q.all(db).await?;
        let full = rows.len() as u64 == PAGE;
        let Some(last) = rows.last() else { break };
        after = last.changed_at.map(|at| (at, last.id));
        // Fresh: a row not applied within the overlap at this `changed_at`.
        let fresh: Vec<&device::Model> = rows
            .iter()
            .filter(|d| {
                d.changed_at
                    .is_some_and(|at| seen.insert(d.id, at) != Some(at))
            })
            .collect();
        applied += fresh.len();
        dir.put_all(&fresh);
        if !full || after.is_none() {
            break;
        }
        tokio::task::yield_now().await;
    }
    if applied > 0 {
        tracing::debug!(rows = applied, "device changes applied to the directory");
    }
    let next = started - OVERLAP;
    seen.retain(|_, at| *at >= next);
    Ok((next, applied))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(n: u128, prefix: &str) -> device::Model {
        let presented = format!("{prefix}_secret");
        device::Model {
            id: Uuid::from_u128(n),
            serial: format!("SN{n}"),
            model: "X1".into(),
            hardware_revision: "A".into(),
            public_key: String::new(),
            status: DeviceStatus::Accepted,
            credential_prefix: Some(prefix.into()),
            credential_hash: Some(token::hash(&presented)),
            credential_expires_at: Some(Utc::now() + TimeDelta::days(1)),
            agent_version: None,
            boot_slot: None,
            timezone: None,
            region: None,
            tags: None,
            installed: None,
            subscriber_id: None,
            created_at: Utc::now(),
            accepted_at: None,
            last_seen_at: None,
            changed_at: None,
            activated_at: None,
            warranty_void_reason: None,
            replaced_by: None,
            client: crate::fleet::devices::rules::Client::Agent,
        }
    }

    #[test]
    fn a_put_replaces_the_previous_credential() {
        let dir = Directory::default();
        dir.put(&accepted(1, "wcd_old"));
        dir.put(&accepted(1, "wcd_new"));
        assert_eq!(dir.len(), 1);
        assert!(dir.read().by_prefix.contains_key("wcd_new"));
        let mut gone = accepted(1, "wcd_new");
        gone.status = DeviceStatus::Decommissioned;
        dir.put(&gone);
        assert!(dir.is_empty(), "only accepted boxes are kept");
    }

    #[test]
    fn the_fill_never_brings_back_what_changed_meanwhile() {
        let dir = Directory::default();
        dir.write().touched = Some(Default::default());
        // Read by the fill before the box was decommissioned here...
        let stale = [accepted(1, "wcd_a"), accepted(2, "wcd_b")];
        dir.put(&accepted(1, "wcd_a"));
        dir.remove(Uuid::from_u128(1));
        // ...applied after it: box 1 stays out, box 2 comes in.
        dir.apply_filled(&stale);
        assert_eq!(dir.len(), 1);
        assert!(dir.read().by_prefix.contains_key("wcd_b"));
        // Once filled, nothing is tracked any more.
        dir.write().touched = None;
        dir.apply_filled(&stale);
        assert_eq!(dir.len(), 2);
    }

    #[tokio::test]
    async fn a_burst_of_changes_is_read_in_pages_and_applied_once() {
        use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
        let tmp = tempfile::tempdir().expect("temp dir");
        let db = crate::platform::db::connect(&crate::platform::config::DatabaseConfig {
            url: crate::platform::config::SecretUrl(format!(
                "sqlite://{}/db.sqlite",
                tmp.path().display()
            )),
            max_connections: 1,
            connect_timeout_secs: 5,
        })
        .await
        .expect("database");
        crate::platform::db::migrate(&db).await.expect("migrations");
        let since = Utc::now() - TimeDelta::seconds(1);
        let burst = PAGE as u128 * 2 + 7;
        for chunk in (0..burst).collect::<Vec<_>>().chunks(1000) {
            device::Entity::insert_many(chunk.iter().map(|&n| {
                let mut d = accepted(n, &format!("wcd_{n:08x}"));
                // Many rows share one timestamp: paging must not skip any.
                d.changed_at = Some(since + TimeDelta::milliseconds((n % 2) as i64));
                d.serial = format!("SN{n}");
                d.public_key = format!("key{n}");
                d.into_active_model()
            }))
            .exec_without_returning(&db)
            .await
            .expect("insert");
        }
        let dir = Directory::default();
        let mut seen = HashMap::new();
        let (_, applied) = follow(&db, &dir, since, &mut seen, Utc::now())
            .await
            .expect("follow");
        assert_eq!((applied, dir.len()), (burst as usize, burst as usize));
        // Read again within the overlap: nothing to apply.
        let (_, again) = follow(&db, &dir, since, &mut seen, Utc::now())
            .await
            .expect("follow");
        assert_eq!(again, 0);
        // One box changes again: only it is applied.
        let mut m = device::Entity::find_by_id(Uuid::from_u128(5))
            .one(&db)
            .await
            .expect("read")
            .expect("row")
            .into_active_model();
        m.status = Set(DeviceStatus::Decommissioned);
        m.changed_at = Set(Some(Utc::now()));
        m.update(&db).await.expect("update");
        let (_, one) = follow(&db, &dir, since, &mut seen, Utc::now())
            .await
            .expect("follow");
        assert_eq!((one, dir.len()), (1, burst as usize - 1));
    }
}
