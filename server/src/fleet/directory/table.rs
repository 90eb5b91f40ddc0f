//! The directory's storage: entries in one array of slots, found through
//! two index tables (by credential prefix and by box id) that hold only
//! slot numbers, so each key is kept once, in its entry. Profiles are
//! interned here: one copy per distinct profile, dropped when no box
//! uses it any more.
//!
//! `hashbrown::HashTable` is used rather than two `HashMap`s because a map
//! keeps its key beside its value: two maps would keep the prefix and the
//! id a second time and cost more per box than the entry itself.

use std::{
    collections::HashSet,
    hash::{BuildHasher, RandomState},
    sync::Arc,
};

use hashbrown::HashTable;
use uuid::Uuid;

use super::entry::{Entry, Profile};
use crate::platform::entities::device;

#[derive(Debug, Default)]
pub(super) struct Table {
    slots: Vec<Option<Entry>>,
    /// Empty slots, used again before the array grows.
    free: Vec<u32>,
    by_key: HashTable<u32>,
    by_id: HashTable<u32>,
    profiles: HashSet<Arc<Profile>>,
    /// Keyed per process: prefixes come from the network.
    hasher: RandomState,
    /// While the fill runs: boxes put or removed since it started, whose
    /// rows the fill may have read before the change and must not apply.
    pub touched: Option<HashSet<Uuid>>,
}

impl Table {
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// The slots, read, beside the index tables and the hasher, written:
    /// the tables rehash through the slots they index.
    fn split(
        &mut self,
    ) -> (
        &[Option<Entry>],
        &mut HashTable<u32>,
        &mut HashTable<u32>,
        &RandomState,
    ) {
        (&self.slots, &mut self.by_key, &mut self.by_id, &self.hasher)
    }

    fn slot(&self, i: u32) -> &Entry {
        // Tables only hold numbers of full slots.
        self.slots[i as usize]
            .as_ref()
            .expect("index tables name full slots")
    }

    /// The entry whose credential prefix is `key`.
    pub fn by_key(&self, key: u64) -> Option<&Entry> {
        let h = self.hasher.hash_one(key);
        let i = self.by_key.find(h, |&i| self.slot(i).key == key)?;
        Some(self.slot(*i))
    }

    /// The entry of box `id`.
    pub fn by_id(&self, id: Uuid) -> Option<&Entry> {
        let h = self.hasher.hash_one(id);
        let i = self.by_id.find(h, |&i| self.slot(i).id == id)?;
        Some(self.slot(*i))
    }

    /// Room for `n` more boxes, so a fill of a known size allocates once.
    pub fn reserve(&mut self, n: usize) {
        self.slots.reserve_exact(n);
        let (slots, by_key, by_id, hasher) = self.split();
        by_key.reserve(n, |&i| hasher.hash_one(key_at(slots, i)));
        by_id.reserve(n, |&i| hasher.hash_one(id_at(slots, i)));
    }

    /// Records a device row as it now stands: an accepted box with a
    /// credential replaces its previous entry; anything else removes it.
    pub fn apply(&mut self, d: &device::Model) -> Option<&Entry> {
        self.remove(d.id);
        let profile = self.intern(Profile::of(d));
        let entry = Entry::of(d, profile.clone());
        if entry.is_none() {
            self.release(profile);
        }
        let entry = entry?;
        // A prefix names one credential; whatever held it is stale.
        if let Some(other) = self.by_key(entry.key).map(|e| e.id) {
            self.remove(other);
        }
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                let i = u32::try_from(self.slots.len()).expect("fewer than 2^32 boxes");
                self.slots.push(None);
                i
            }
        };
        let (key, id) = (entry.key, entry.id);
        self.slots[i as usize] = Some(entry);
        let (slots, by_key, by_id, hasher) = self.split();
        by_key.insert_unique(hasher.hash_one(key), i, |&j| {
            hasher.hash_one(key_at(slots, j))
        });
        by_id.insert_unique(hasher.hash_one(id), i, |&j| {
            hasher.hash_one(id_at(slots, j))
        });
        Some(self.slot(i))
    }

    /// Forgets box `id`, if held.
    pub fn remove(&mut self, id: Uuid) {
        let (slots, by_key, by_id, hasher) = self.split();
        let Ok(found) = by_id.find_entry(hasher.hash_one(id), |&i| id_at(slots, i) == id) else {
            return;
        };
        let (i, _) = found.remove();
        let key = key_at(slots, i);
        if let Ok(k) = by_key.find_entry(hasher.hash_one(key), |&j| j == i) {
            k.remove();
        }
        let old = self.slots[i as usize].take().expect("a full slot");
        self.free.push(i);
        self.release(old.profile);
    }

    /// The shared copy of `p`.
    fn intern(&mut self, p: Profile) -> Arc<Profile> {
        if let Some(shared) = self.profiles.get(&p) {
            return shared.clone();
        }
        let shared = Arc::new(p);
        self.profiles.insert(shared.clone());
        shared
    }

    /// Drops a profile's interned copy once no box holds it (a copy a
    /// caller still holds is swept later by [`Table::sweep`]).
    fn release(&mut self, p: Arc<Profile>) {
        if Arc::strong_count(&p) == 2 {
            self.profiles.remove(&*p);
        }
    }

    /// Drops every interned profile no box holds any more.
    pub fn sweep(&mut self) {
        self.profiles.retain(|p| Arc::strong_count(p) > 1);
    }

    pub fn profiles(&self) -> usize {
        self.profiles.len()
    }

    /// How many slots the array has, full or free.
    #[cfg(test)]
    pub fn slots(&self) -> usize {
        self.slots.len()
    }
}

fn key_at(slots: &[Option<Entry>], i: u32) -> u64 {
    slots[i as usize].as_ref().map_or(0, |e| e.key)
}

fn id_at(slots: &[Option<Entry>], i: u32) -> Uuid {
    slots[i as usize].as_ref().map_or(Uuid::nil(), |e| e.id)
}
