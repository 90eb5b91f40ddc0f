//! The device directory: what a check-in needs to know about each accepted
//! box, in memory, keyed by credential prefix, so that the common check-in
//! ("nothing new") touches no database at all.
//!
//! It is a copy of the `devices` table and follows it three ways:
//! - at start it fills in the background, a page of rows at a time (until a
//!   box is in it, its check-in reads the database and adds it);
//! - what this process changes it puts at once (enrolment, acceptance,
//!   decommissioning, inventory);
//! - every `devices.directory_sync_millis` it reads the rows whose
//!   `changed_at` moved, so changes made by other instances on the same
//!   database (a decommissioning above all) apply within about a second.
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

use crate::{
    domain::{
        enrolment::DeviceStatus,
        token::{self, Scheme},
    },
    entities::device,
    error::ApiError,
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
        if d.status != DeviceStatus::Accepted.as_str() {
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
                tags: crate::engine::tags_of(d),
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
        if let Some(old) = maps.prefix_of.remove(&d.id) {
            maps.by_prefix.remove(&old);
        }
        let (prefix, entry) = Entry::of(d)?;
        let entry = Arc::new(entry);
        maps.prefix_of.insert(d.id, prefix.clone());
        maps.by_prefix.insert(prefix, entry.clone());
        Some(entry)
    }

    /// Forgets a box (decommissioned, rejected).
    pub fn remove(&self, id: Uuid) {
        let mut maps = self.write();
        if let Some(old) = maps.prefix_of.remove(&id) {
            maps.by_prefix.remove(&old);
        }
    }

    /// The accepted box whose unexpired credential is `presented`, from
    /// memory, or from the database (and then remembered).
    pub async fn authenticate(
        &self,
        db: &DatabaseConnection,
        presented: &str,
    ) -> Result<Arc<Entry>, ApiError> {
        let invalid = || ApiError::Unauthorized("invalid device credential; enrol again".into());
        let prefix = token::prefix_in(Scheme::Device, presented).ok_or_else(invalid)?;
        let known = self.read().by_prefix.get(prefix).cloned();
        let entry = match known {
            Some(e) => e,
            None => {
                let d = crate::auth::authenticate_device(db, presented).await?;
                return self.put(&d).ok_or_else(invalid);
            }
        };
        if !token::matches(presented, &entry.credential_hash) {
            return Err(invalid());
        }
        if entry.credential_expires_at <= Utc::now() {
            return Err(ApiError::Unauthorized(
                "the device credential has expired; enrol again with the device key".into(),
            ));
        }
        Ok(entry)
    }
}

/// Rows fetched per page while filling at start.
const PAGE: u64 = 5_000;

/// Fills the directory in the background and then follows `changed_at`.
pub fn spawn(db: DatabaseConnection, dir: Arc<Directory>, every: Duration) {
    tokio::spawn(async move {
        // Follow changes from before the fill started, so none is missed.
        let mut watermark = Utc::now() - TimeDelta::seconds(5);
        if let Err(e) = fill(&db, &dir).await {
            tracing::warn!(error = %e, "device directory fill stopped; boxes load on first check-in");
        }
        dir.filled.store(true, std::sync::atomic::Ordering::Release);
        tracing::info!(devices = dir.len(), "device directory filled");
        let mut tick = tokio::time::interval(every.max(Duration::from_millis(50)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match follow(&db, &dir, watermark).await {
                Ok(next) => watermark = next,
                Err(e) => tracing::warn!(error = %e, "cannot read device changes"),
            }
        }
    });
}

async fn fill(db: &DatabaseConnection, dir: &Directory) -> Result<(), sea_orm::DbErr> {
    let mut after: Option<Uuid> = None;
    loop {
        let mut q = device::Entity::find()
            .filter(device::Column::Status.eq(DeviceStatus::Accepted.as_str()))
            .filter(device::Column::CredentialPrefix.is_not_null())
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
        for d in &rows {
            // A box changed by this process meanwhile is newer in memory.
            if dir.read().prefix_of.contains_key(&d.id) {
                continue;
            }
            dir.put(d);
        }
        tokio::task::yield_now().await;
    }
}

/// Applies the rows changed since `since`; returns the next watermark. The
/// margin re-reads a few seconds (putting a row twice is harmless) so clock
/// differences between instances lose nothing.
async fn follow(
    db: &DatabaseConnection,
    dir: &Directory,
    since: DateTime<Utc>,
) -> Result<DateTime<Utc>, sea_orm::DbErr> {
    let started = Utc::now();
    let rows = device::Entity::find()
        .filter(device::Column::ChangedAt.gte(since))
        .all(db)
        .await?;
    for d in &rows {
        dir.put(d);
    }
    Ok(started - TimeDelta::seconds(2))
}
