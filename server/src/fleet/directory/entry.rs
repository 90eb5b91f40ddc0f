//! What the directory keeps of one box, made small: a million boxes must
//! fit in a couple of hundred megabytes. The credential's hash is kept as
//! its 32 bytes, its prefix as the number it encodes, the serial inline,
//! and everything many boxes share (model, revision, region, tags, time
//! zone, boot slot, agent version) as one shared [`Profile`].

use std::{
    hash::{Hash, Hasher},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use uuid::Uuid;

use crate::{
    fleet::devices::{rules::DeviceStatus, store::tags_of},
    identity::tokens::rules::Scheme,
    platform::entities::device,
};

/// What boxes have in common: one copy for every box that shares it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Profile {
    pub model: Box<str>,
    pub revision: Box<str>,
    pub region: Option<Box<str>>,
    pub tags: Vec<String>,
    pub timezone: Option<Box<str>>,
    pub boot_slot: Option<Box<str>>,
    pub agent_version: Option<Box<str>>,
}

impl Profile {
    pub(super) fn of(d: &device::Model) -> Profile {
        let boxed = |s: &Option<String>| s.as_deref().map(Into::into);
        Profile {
            model: d.model.as_str().into(),
            revision: d.hardware_revision.as_str().into(),
            region: boxed(&d.region),
            tags: tags_of(d),
            timezone: boxed(&d.timezone),
            boot_slot: boxed(&d.boot_slot),
            agent_version: boxed(&d.agent_version),
        }
    }
}

/// A box as check-ins see it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: Uuid,
    /// The SHA-256 of the box's credential.
    pub(super) credential_hash: [u8; 32],
    /// The credential's prefix, as [`key_of`] reads it.
    pub(super) key: u64,
    pub credential_expires_at: DateTime<Utc>,
    /// Milliseconds since the epoch; `i64::MIN` when never seen.
    last_seen_ms: i64,
    /// A digest of the stored inventory (see [`inventory_digest`]).
    pub inventory: u64,
    pub serial: CompactString,
    pub profile: Arc<Profile>,
}

impl Entry {
    /// The entry of an accepted box with a credential; `None` for anything
    /// else. `profile` is the shared copy of [`Profile::of`]`(d)`.
    pub(super) fn of(d: &device::Model, profile: Arc<Profile>) -> Option<Entry> {
        if d.status != DeviceStatus::Accepted {
            return None;
        }
        let mut credential_hash = [0u8; 32];
        hex::decode_to_slice(d.credential_hash.as_deref()?, &mut credential_hash).ok()?;
        Some(Entry {
            id: d.id,
            credential_hash,
            key: key_of(d.credential_prefix.as_deref()?)?,
            credential_expires_at: d.credential_expires_at?,
            last_seen_ms: d.last_seen_at.map_or(i64::MIN, |t| t.timestamp_millis()),
            inventory: inventory_digest(d.installed.as_ref()),
            serial: d.serial.as_str().into(),
            profile,
        })
    }

    /// When the box last checked in, as the database has it.
    pub fn last_seen_at(&self) -> Option<DateTime<Utc>> {
        (self.last_seen_ms != i64::MIN)
            .then(|| DateTime::from_timestamp_millis(self.last_seen_ms))
            .flatten()
    }
}

/// A device credential's prefix (`wcd_` and ten hex digits) as a number;
/// `None` for anything else.
pub fn key_of(prefix: &str) -> Option<u64> {
    let digits = prefix.strip_prefix(Scheme::Device.tag())?;
    let mut id = [0u8; 8];
    hex::decode_to_slice(digits, &mut id[3..]).ok()?;
    Some(u64::from_be_bytes(id))
}

/// A digest of an inventory as stored (a JSON value), to tell at check-in
/// whether what the box reports differs, without keeping it.
pub fn inventory_digest(installed: Option<&serde_json::Value>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    installed.map(|v| v.to_string()).hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_stays_small() {
        // What a box costs before the index tables: see BENCHMARKS.md.
        assert!(std::mem::size_of::<Option<Entry>>() <= 120);
    }

    #[test]
    fn only_device_prefixes_have_a_key() {
        assert_eq!(key_of("wcd_00000000ff"), Some(255));
        assert_eq!(key_of("wcd_ffffffffff"), Some(0xff_ffff_ffff));
        assert_eq!(key_of("wco_00000000ff"), None);
        assert_eq!(key_of("wcd_00000000f"), None);
        assert_eq!(key_of("wcd_00000000fff"), None);
        assert_eq!(key_of("wcd_zz000000ff"), None);
    }
}
