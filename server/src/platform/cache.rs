//! A read-mostly value kept in memory and reloaded from the database when it
//! is older than its time to live or was invalidated.
//!
//! The check-in hot path reads the trust anchors and the offering rollouts
//! on every request; both change rarely. This process invalidates them when
//! it changes them, so its own answers are never stale; changes made by
//! another instance sharing the database show up within the time to live.
//! When a value merely expired, one caller reloads it while the others keep
//! answering from the previous value; when there is none yet or it was
//! invalidated, callers wait for the reload (so this process never answers
//! with what it just changed). A failed load keeps nothing and the next
//! caller tries again.

use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use arc_swap::ArcSwapOption;

struct Entry<T> {
    value: Arc<T>,
    loaded_at: Instant,
    generation: u64,
}

/// A value with a time to live and explicit invalidation.
pub struct Refreshing<T> {
    entry: ArcSwapOption<Entry<T>>,
    generation: AtomicU64,
    reload: tokio::sync::Mutex<()>,
    ttl: Duration,
}

impl<T> std::fmt::Debug for Refreshing<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refreshing")
            .field("ttl", &self.ttl)
            .field("generation", &self.generation.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<T: Send + Sync> Refreshing<T> {
    pub fn new(ttl: Duration) -> Self {
        Self {
            entry: ArcSwapOption::empty(),
            generation: AtomicU64::new(0),
            reload: tokio::sync::Mutex::new(()),
            ttl,
        }
    }

    /// Forgets the value: the next read loads it again. Call after changing
    /// what it was loaded from.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn fresh(&self, e: &Entry<T>) -> bool {
        e.generation == self.generation.load(Ordering::Acquire) && e.loaded_at.elapsed() < self.ttl
    }

    /// The value if there is one that merely expired (not invalidated):
    /// a caller that would rather not wait answers with it and reloads in
    /// the background.
    pub fn expired(&self) -> Option<Arc<T>> {
        let e = self.entry.load_full()?;
        (!self.fresh(&e) && e.generation == self.generation.load(Ordering::Acquire))
            .then(|| e.value.clone())
    }

    /// The value, loading it with `load` when it is missing, expired or
    /// invalidated. While one caller reloads an expired value, the others get
    /// the previous one; after an invalidation everyone waits for the reload,
    /// so a change this process made is never answered with the old value.
    pub async fn get<E, F, Fut>(&self, load: F) -> Result<Arc<T>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let current = self.entry.load_full();
        if let Some(e) = &current {
            if self.fresh(e) {
                return Ok(e.value.clone());
            }
        }
        let guard = match &current {
            // Expired but not invalidated: if someone is already reloading,
            // answer from the previous value instead of waiting.
            Some(e) if e.generation == self.generation.load(Ordering::Acquire) => {
                match self.reload.try_lock() {
                    Ok(g) => g,
                    Err(_) => return Ok(e.value.clone()),
                }
            }
            _ => self.reload.lock().await,
        };
        // Another caller may have reloaded while this one waited.
        if let Some(e) = self.entry.load_full() {
            if self.fresh(&e) {
                return Ok(e.value.clone());
            }
        }
        let generation = self.generation.load(Ordering::Acquire);
        let value = Arc::new(load().await?);
        self.entry.store(Some(Arc::new(Entry {
            value: value.clone(),
            loaded_at: Instant::now(),
            generation,
        })));
        drop(guard);
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    async fn count(c: &Refreshing<usize>, loads: &AtomicUsize) -> usize {
        *c.get(|| async { Ok::<_, ()>(loads.fetch_add(1, Ordering::SeqCst) + 1) })
            .await
            .expect("the load succeeds")
    }

    #[tokio::test]
    async fn loads_once_until_invalidated() {
        let c = Refreshing::new(Duration::from_secs(3600));
        let loads = AtomicUsize::new(0);
        assert_eq!(count(&c, &loads).await, 1);
        assert_eq!(count(&c, &loads).await, 1);
        c.invalidate();
        assert_eq!(count(&c, &loads).await, 2);
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn reloads_after_the_time_to_live() {
        let c = Refreshing::new(Duration::from_millis(20));
        let loads = AtomicUsize::new(0);
        assert_eq!(count(&c, &loads).await, 1);
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(count(&c, &loads).await, 2);
    }

    #[tokio::test]
    async fn a_failed_load_keeps_nothing() {
        let c: Refreshing<usize> = Refreshing::new(Duration::from_secs(3600));
        let r = c.get(|| async { Err::<usize, _>("down") }).await;
        assert_eq!(r, Err("down"));
        let loads = AtomicUsize::new(0);
        assert_eq!(count(&c, &loads).await, 1);
    }
}
