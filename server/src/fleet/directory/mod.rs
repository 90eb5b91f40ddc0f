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

mod entry;
mod table;

use std::{collections::HashMap, sync::RwLock, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

pub use self::entry::{inventory_digest, Entry, Profile};
use self::{entry::key_of, table::Table};
use super::devices::rules::DeviceStatus;
use crate::{
    identity::tokens::rules::{self as token, Scheme},
    platform::{clock::Clock, entities::device, error::Error},
};

/// The directory; shared by every worker.
#[derive(Debug, Default)]
pub struct Directory {
    table: RwLock<Table>,
    filled: std::sync::atomic::AtomicBool,
}

impl Directory {
    /// Whether the fill at start has finished.
    pub fn is_filled(&self) -> bool {
        self.filled.load(std::sync::atomic::Ordering::Acquire)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(|p| p.into_inner())
    }

    /// How many boxes it holds.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many distinct profiles the boxes share.
    pub fn profiles(&self) -> usize {
        self.read().profiles()
    }

    /// Records a device row as it now stands: an accepted box with a
    /// credential replaces its previous entry; anything else removes it.
    pub fn put(&self, d: &device::Model) -> Option<Entry> {
        let mut table = self.write();
        table.touch(d.id);
        table.apply(d).cloned()
    }

    /// [`Directory::put`] for several rows under one lock.
    fn put_all(&self, rows: &[&device::Model]) {
        let mut table = self.write();
        for d in rows {
            table.touch(d.id);
            table.apply(d);
        }
    }

    /// Applies rows read by the fill, except for boxes put or removed since
    /// the fill started: memory is newer than those rows.
    fn apply_filled(&self, rows: &[device::Model]) {
        let mut table = self.write();
        for d in rows {
            if table.touched.as_ref().is_some_and(|t| t.contains(&d.id)) {
                continue;
            }
            table.apply(d);
        }
    }

    /// The accepted box `id`, if this directory holds it.
    pub fn by_id(&self, id: Uuid) -> Option<Entry> {
        self.read().by_id(id).cloned()
    }

    /// Forgets a box (decommissioned, rejected).
    pub fn remove(&self, id: Uuid) {
        let mut table = self.write();
        table.touch(id);
        table.remove(id);
    }

    /// The accepted box whose credential `presented` is unexpired at
    /// `now`, from memory, or from the database (and then remembered).
    pub async fn authenticate(
        &self,
        db: &DatabaseConnection,
        presented: &str,
        now: DateTime<Utc>,
    ) -> Result<Entry, Error> {
        let invalid = || Error::Unauthorized("invalid device credential; enrol again".into());
        let prefix = token::prefix_in(Scheme::Device, presented).ok_or_else(invalid)?;
        let key = key_of(prefix).ok_or_else(invalid)?;
        let known = self.read().by_key(key).cloned();
        let entry = match known {
            Some(e) => e,
            None => {
                let d = super::devices::store::authenticate(db, presented, now).await?;
                return self.put(&d).ok_or_else(invalid);
            }
        };
        if !token::matches_digest(presented, &entry.credential_hash) {
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

impl Table {
    fn touch(&mut self, id: Uuid) {
        if let Some(t) = &mut self.touched {
            t.insert(id);
        }
    }
}

/// Rows fetched per page while filling at start.
const PAGE: u64 = 5_000;

/// Fills the directory in the background and follows `changed_at` from the
/// start (the fill of a large fleet takes a while; changes meanwhile must
/// not wait for it).
pub fn spawn(
    db: DatabaseConnection,
    dir: std::sync::Arc<Directory>,
    every: Duration,
    clock: Clock,
) {
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
            // Profiles a caller held while their last box changed.
            dir.write().sweep();
        }
    });
}

/// How far back each read of changes reaches before the previous one: rows
/// committed late or stamped by an instance whose clock is behind are still
/// seen if within this (instances are expected to keep NTP time).
const OVERLAP: TimeDelta = TimeDelta::seconds(15);

async fn fill(db: &DatabaseConnection, dir: &Directory) -> Result<(), sea_orm::DbErr> {
    // Room for every accepted box at once: grown by doubling instead, the
    // arrays of a large fleet would hold up to half again in empty room.
    let accepted = device::Entity::find()
        .filter(device::Column::Status.eq(DeviceStatus::Accepted))
        .count(db)
        .await?;
    dir.write()
        .reserve(usize::try_from(accepted).unwrap_or(usize::MAX));
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
        let presented = secret_of(prefix);
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

    fn secret_of(prefix: &str) -> String {
        format!("{prefix}_{}", "ab".repeat(32))
    }

    fn held(dir: &Directory, prefix: &str) -> bool {
        let key = key_of(prefix).expect("a device prefix");
        dir.read().by_key(key).is_some()
    }

    #[test]
    fn boxes_share_one_profile_until_they_differ() {
        let dir = Directory::default();
        for n in 1..=3 {
            dir.put(&accepted(n, &format!("wcd_{n:010x}")));
        }
        assert_eq!((dir.len(), dir.profiles()), (3, 1));
        let mut newer = accepted(2, "wcd_0000000002");
        newer.agent_version = Some("2.0".into());
        let e = dir.put(&newer).expect("accepted");
        assert_eq!(e.profile.agent_version.as_deref(), Some("2.0"));
        assert_eq!(e.serial, "SN2");
        assert_eq!(dir.profiles(), 2);
        // The last box on a profile takes it along (once no caller holds
        // it); its slot is used again.
        dir.remove(Uuid::from_u128(2));
        assert_eq!((dir.len(), dir.profiles()), (2, 2));
        drop(e);
        dir.write().sweep();
        assert_eq!(dir.profiles(), 1);
        dir.put(&newer);
        dir.remove(Uuid::from_u128(2));
        assert_eq!(dir.profiles(), 1);
        dir.put(&accepted(4, "wcd_0000000004"));
        assert_eq!(dir.read().slots(), 3);
        assert_eq!(
            dir.by_id(Uuid::from_u128(4)).map(|e| e.serial),
            Some("SN4".into())
        );
        assert!(held(&dir, "wcd_0000000004") && !held(&dir, "wcd_0000000002"));
    }

    #[test]
    fn a_prefix_belongs_to_one_box() {
        let dir = Directory::default();
        dir.put(&accepted(1, "wcd_00000000c3"));
        dir.put(&accepted(2, "wcd_00000000c3"));
        assert_eq!(dir.len(), 1);
        assert!(dir.by_id(Uuid::from_u128(1)).is_none());
    }

    #[tokio::test]
    async fn a_held_box_is_checked_against_its_hash_and_expiry() {
        let db = sea_orm::Database::connect("sqlite::memory:")
            .await
            .expect("database");
        let dir = Directory::default();
        let now = Utc::now();
        dir.put(&accepted(1, "wcd_00000000d4"));
        let ok = dir
            .authenticate(&db, &secret_of("wcd_00000000d4"), now)
            .await
            .expect("the held credential");
        assert_eq!(ok.id, Uuid::from_u128(1));
        // The prefix alone is not enough: the secret's hash must match.
        let other = format!("wcd_00000000d4_{}", "cd".repeat(32));
        let wrong = dir.authenticate(&db, &other, now).await;
        assert!(matches!(wrong, Err(Error::Unauthorized(_))));
        let late = dir
            .authenticate(&db, &secret_of("wcd_00000000d4"), now + TimeDelta::days(2))
            .await;
        assert!(matches!(late, Err(Error::Unauthorized(m)) if m.contains("expired")));
    }

    #[test]
    fn a_put_replaces_the_previous_credential() {
        let dir = Directory::default();
        dir.put(&accepted(1, "wcd_00000000a1"));
        dir.put(&accepted(1, "wcd_00000000b2"));
        assert_eq!(dir.len(), 1);
        assert!(held(&dir, "wcd_00000000b2"));
        let mut gone = accepted(1, "wcd_00000000b2");
        gone.status = DeviceStatus::Decommissioned;
        dir.put(&gone);
        assert!(dir.is_empty(), "only accepted boxes are kept");
    }

    #[test]
    fn the_fill_never_brings_back_what_changed_meanwhile() {
        let dir = Directory::default();
        dir.write().touched = Some(Default::default());
        // Read by the fill before the box was decommissioned here...
        let stale = [accepted(1, "wcd_000000000a"), accepted(2, "wcd_000000000b")];
        dir.put(&accepted(1, "wcd_000000000a"));
        dir.remove(Uuid::from_u128(1));
        // ...applied after it: box 1 stays out, box 2 comes in.
        dir.apply_filled(&stale);
        assert_eq!(dir.len(), 1);
        assert!(held(&dir, "wcd_000000000b"));
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
                let mut d = accepted(n, &format!("wcd_{n:010x}"));
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
