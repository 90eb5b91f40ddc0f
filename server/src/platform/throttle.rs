//! Throttling one sender without slowing the others: a token bucket per
//! key (`rate` a second on average, `burst` at once), as a pure function
//! of the time ([`Bucket`]), and a [`Throttle`] holding one bucket per key
//! (a box's event batches, an address's enrolments) on the server's clock.

use std::{collections::HashMap, hash::Hash, sync::Mutex};

use super::clock::Clock;

/// One box's bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    tokens: f64,
    at: f64,
}

impl Bucket {
    /// A full bucket at time `now` (seconds).
    pub fn full(burst: u32, now: f64) -> Self {
        Self {
            tokens: f64::from(burst),
            at: now,
        }
    }

    /// Takes one token at `now` if there is one; refills at `rate` a second
    /// up to `burst`. A clock going back refills nothing.
    pub fn take(&mut self, now: f64, rate: f64, burst: u32) -> bool {
        let elapsed = (now - self.at).max(0.0);
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(burst));
        self.at = self.at.max(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether it has refilled completely by `now` (and can be forgotten).
    pub fn is_full(&self, now: f64, rate: f64, burst: u32) -> bool {
        self.tokens + (now - self.at).max(0.0) * rate >= f64::from(burst)
    }
}

/// Buckets by key, on the server's clock (a test moving it forward
/// refills them; a clock stepping back refills nothing). Keys whose bucket
/// has refilled are forgotten once there are many.
#[derive(Debug)]
pub struct Throttle<K> {
    buckets: Mutex<HashMap<K, Bucket>>,
    rate: f64,
    burst: u32,
    clock: Clock,
}

/// How many keys are held before the full buckets are forgotten.
const FORGET_AT: usize = 100_000;

impl<K: Hash + Eq> Throttle<K> {
    pub fn new(rate: f64, burst: u32, clock: Clock) -> Self {
        Self {
            buckets: Mutex::default(),
            rate,
            burst,
            clock,
        }
    }

    /// Whether `key` may go on now (takes a token).
    pub fn admit(&self, key: K) -> bool {
        // Milliseconds since 1970 stay far below 2^53.
        #[allow(clippy::cast_precision_loss)]
        let now = self.clock.now().timestamp_millis() as f64 / 1000.0;
        let mut b = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if b.len() >= FORGET_AT {
            let (rate, burst) = (self.rate, self.burst);
            b.retain(|_, v| !v.is_full(now, rate, burst));
        }
        b.entry(key)
            .or_insert_with(|| Bucket::full(self.burst, now))
            .take(now, self.rate, self.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let mut b = Bucket::full(3, 0.0);
        assert!((0..3).all(|_| b.take(0.0, 1.0, 3)));
        assert!(!b.take(0.0, 1.0, 3), "the burst is spent");
        assert!(!b.take(0.5, 1.0, 3), "half a token is not one");
        assert!(b.take(1.0, 1.0, 3));
        assert!(!b.take(1.0, 1.0, 3));
        // A long pause refills to the burst, not beyond.
        assert!(b.is_full(100.0, 1.0, 3));
        assert_eq!((0..10).filter(|_| b.take(100.0, 1.0, 3)).count(), 3);
    }

    #[test]
    fn a_clock_going_back_refills_nothing() {
        let mut b = Bucket::full(1, 10.0);
        assert!(b.take(10.0, 1.0, 1));
        assert!(!b.take(5.0, 1.0, 1));
        assert!(!b.take(10.5, 1.0, 1));
        assert!(b.take(11.0, 1.0, 1));
    }
}
