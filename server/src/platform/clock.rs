//! The server's one clock. Everything that asks "what time is it?" — SLA
//! deadlines, soak times, device timeouts, credential and token expiry,
//! presence, rollups and retention, webhooks' backoff — asks this clock,
//! held in the application state and handed to every background job.
//!
//! In production it is the system clock. Tests move it forward
//! ([`Clock::advance`]) to cross an SLA target, a soak or a retention
//! period in an instant instead of sleeping through it; time keeps
//! running from there, so everything that waits on real time (timers,
//! sockets) behaves as it would.

use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};

use chrono::{DateTime, TimeDelta, Utc};

/// The system clock, possibly moved forward by tests. Cheap to clone; all
/// clones share one offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system time.
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self::default()
    }

    /// Now, on this clock.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::milliseconds(self.offset_ms.load(Ordering::Acquire))
    }

    /// Moves the clock forward by `by` (tests: crossing an SLA target, a
    /// soak time or a retention period without waiting for it). Never
    /// backward: nothing in the server expects time to go back.
    pub fn advance(&self, by: std::time::Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::AcqRel);
    }

    /// How far tests have moved the clock.
    pub fn offset(&self) -> TimeDelta {
        TimeDelta::milliseconds(self.offset_ms.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_every_clone() {
        let clock = Clock::system();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(std::time::Duration::from_secs(3600));
        let after = copy.now();
        assert!(after - before >= TimeDelta::hours(1), "{before} → {after}");
        assert_eq!(copy.offset(), TimeDelta::hours(1));
        assert!(after - Utc::now() <= TimeDelta::hours(1) + TimeDelta::seconds(1));
    }
}
