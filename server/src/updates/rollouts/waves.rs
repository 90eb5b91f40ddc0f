//! Rollout waves: who is in which wave, and when a wave advances, waits or
//! pauses. Pure functions over plain data; the scheduler applies them.
//!
//! Membership is deterministic, cumulative and stable: each device gets a
//! bucket in `0..BUCKETS` from a hash of the rollout id and its own id, and
//! wave `k` holds the devices whose bucket is below the wave's threshold (and
//! not below the previous wave's). A device enrolling after the rollout
//! started gets its bucket the same way and so lands in the right wave.

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Buckets are basis points: 10,000 of them make the whole target.
pub const BUCKETS: u32 = 10_000;

/// A device's bucket in a rollout.
pub fn bucket(rollout: Uuid, device: Uuid) -> u32 {
    let mut h = Sha256::new();
    h.update(rollout.as_bytes());
    h.update(device.as_bytes());
    let d = h.finalize();
    let n = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
    (n % u64::from(BUCKETS)) as u32
}

/// How large a wave is: a share of the target, or a number of devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaveSize {
    /// Cumulative share of the target in basis points (1 % = 100).
    Percent(u32),
    /// Cumulative number of devices.
    Count(u32),
}

/// One wave's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaveSpec {
    pub size: WaveSize,
    /// How long the wave must run before it may advance.
    pub soak: TimeDelta,
    /// Percent of the wave's devices that must have succeeded to advance.
    pub success_threshold_pct: u32,
    /// Percent of the wave's devices failed (or timed out) that pauses the rollout.
    pub failure_threshold_pct: u32,
    /// Advance only when an operator approves.
    pub needs_approval: bool,
}

/// The bucket threshold (exclusive) that makes a wave of `size` given the
/// sorted buckets of the target's devices at the time the wave opens.
/// Percent waves ignore the devices; count waves take exactly the `count`
/// lowest buckets (ties at the edge are included, so a wave can be slightly
/// larger, never smaller).
pub fn threshold(size: WaveSize, sorted_buckets: &[u32]) -> u32 {
    match size {
        WaveSize::Percent(bp) => bp.min(BUCKETS),
        WaveSize::Count(0) => 0,
        WaveSize::Count(n) => match sorted_buckets.get(n as usize - 1) {
            Some(b) => (b + 1).min(BUCKETS),
            None => BUCKETS,
        },
    }
}

/// The wave (0-based) a bucket falls in, given the waves' thresholds in order.
pub fn wave_of(bucket: u32, thresholds: &[u32]) -> Option<usize> {
    thresholds.iter().position(|t| bucket < *t)
}

/// Whether a device may be offered the rollout now: its wave is open.
pub fn is_eligible(bucket: u32, thresholds: &[u32], open_waves: usize) -> bool {
    wave_of(bucket, thresholds).is_some_and(|w| w < open_waves)
}

/// How a wave's devices stand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WaveTally {
    pub members: u32,
    pub succeeded: u32,
    /// Failed, rolled back, or timed out.
    pub failed: u32,
    pub in_progress: u32,
}

/// What the scheduler should do with the current wave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Keep going; nothing to decide yet.
    Wait { reason: String },
    /// Open the next wave.
    Advance,
    /// The wave is good; an operator must approve the next one.
    AwaitApproval,
    /// Stop offering the rollout: too many failures.
    Pause { reason: String },
    /// The last wave is done.
    Complete,
}

fn pct(part: u32, whole: u32) -> u32 {
    if whole == 0 {
        0
    } else {
        ((u64::from(part) * 100) / u64::from(whole)) as u32
    }
}

/// Judges the current wave. `is_last`: there is no wave after it.
pub fn judge(
    spec: &WaveSpec,
    tally: &WaveTally,
    opened_at: DateTime<Utc>,
    now: DateTime<Utc>,
    is_last: bool,
) -> Verdict {
    let failed = pct(tally.failed, tally.members);
    if tally.failed > 0 && failed >= spec.failure_threshold_pct.max(1) {
        return Verdict::Pause {
            reason: format!(
                "{} of {} devices failed ({failed} %), at or above the wave's failure threshold of {} %",
                tally.failed, tally.members, spec.failure_threshold_pct
            ),
        };
    }
    let soaked_at = opened_at + spec.soak;
    if now < soaked_at {
        return Verdict::Wait {
            reason: format!("soaking until {soaked_at}"),
        };
    }
    let succeeded = pct(tally.succeeded, tally.members);
    if tally.members > 0 && succeeded < spec.success_threshold_pct {
        return Verdict::Wait {
            reason: format!(
                "{succeeded} % succeeded, {} % needed to advance",
                spec.success_threshold_pct
            ),
        };
    }
    match (is_last, spec.needs_approval) {
        (true, _) => Verdict::Complete,
        (false, true) => Verdict::AwaitApproval,
        (false, false) => Verdict::Advance,
    }
}

/// Whether a device that started installing has been silent too long: a
/// bricked box never reports, so silence past the timeout counts as failure.
pub fn timed_out(last_report: DateTime<Utc>, timeout: TimeDelta, now: DateTime<Utc>) -> bool {
    now - last_report > timeout
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u32) -> Vec<Uuid> {
        (0..n)
            .map(|i| Uuid::from_u128(0xfeed_0000 + u128::from(i)))
            .collect()
    }

    fn spec(success: u32, failure: u32) -> WaveSpec {
        WaveSpec {
            size: WaveSize::Percent(1000),
            soak: TimeDelta::minutes(30),
            success_threshold_pct: success,
            failure_threshold_pct: failure,
            needs_approval: false,
        }
    }

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + min * 60, 0).expect("time")
    }

    #[test]
    fn buckets_are_deterministic_spread_and_per_rollout() {
        let r = Uuid::from_u128(1);
        let devices = ids(10_000);
        let b: Vec<u32> = devices.iter().map(|d| bucket(r, *d)).collect();
        assert_eq!(b, devices.iter().map(|d| bucket(r, *d)).collect::<Vec<_>>());
        assert!(b.iter().all(|x| *x < BUCKETS));
        // Roughly uniform: each tenth of the range holds 8-12 % of devices.
        for decile in 0..10 {
            let n = b.iter().filter(|x| **x / 1000 == decile).count();
            assert!((800..1200).contains(&n), "decile {decile}: {n}");
        }
        // Another rollout orders devices differently: canaries rotate.
        let other = Uuid::from_u128(2);
        let same = devices
            .iter()
            .filter(|d| bucket(r, **d) == bucket(other, **d))
            .count();
        assert!(same < 50, "{same}");
    }

    #[test]
    fn waves_are_cumulative_and_stable() {
        let r = Uuid::from_u128(7);
        let devices = ids(2000);
        let thresholds = [1000, 5000, 10_000]; // 10 %, 50 %, 100 %
        let wave = |d: &Uuid| wave_of(bucket(r, *d), &thresholds).expect("in a wave");
        let counts = (0..3)
            .map(|w| devices.iter().filter(|d| wave(d) == w).count())
            .collect::<Vec<_>>();
        assert!((150..250).contains(&counts[0]), "{counts:?}");
        assert!((700..900).contains(&counts[1]), "{counts:?}");
        assert_eq!(
            counts.iter().sum::<usize>(),
            2000,
            "every device is in exactly one wave"
        );
        // Eligibility grows with the open waves and never loses a device.
        let mut before = 0;
        for open in 1..=3 {
            let eligible = devices
                .iter()
                .filter(|d| is_eligible(bucket(r, **d), &thresholds, open))
                .count();
            assert!(eligible > before);
            before = eligible;
        }
        assert_eq!(before, 2000);
        // A device that joins later lands by the same rule.
        let late = Uuid::from_u128(0xabcdef);
        assert_eq!(
            wave_of(bucket(r, late), &thresholds),
            wave_of(bucket(r, late), &thresholds)
        );
    }

    #[test]
    fn count_waves_take_the_lowest_buckets() {
        let sorted = vec![5, 9, 9, 40, 77];
        assert_eq!(threshold(WaveSize::Count(1), &sorted), 6);
        assert_eq!(
            threshold(WaveSize::Count(2), &sorted),
            10,
            "ties are included"
        );
        assert_eq!(
            threshold(WaveSize::Count(9), &sorted),
            BUCKETS,
            "more than the target: all"
        );
        assert_eq!(threshold(WaveSize::Count(0), &sorted), 0);
        assert_eq!(threshold(WaveSize::Percent(2500), &sorted), 2500);
        assert_eq!(threshold(WaveSize::Percent(20_000), &sorted), BUCKETS);
    }

    #[test]
    fn failures_pause_even_before_the_soak_ends() {
        let tally = WaveTally {
            members: 20,
            succeeded: 2,
            failed: 4,
            in_progress: 14,
        };
        let v = judge(&spec(90, 20), &tally, t(0), t(1), false);
        assert!(matches!(v, Verdict::Pause { .. }), "{v:?}");
        let below = WaveTally { failed: 3, ..tally };
        assert!(matches!(
            judge(&spec(90, 20), &below, t(0), t(1), false),
            Verdict::Wait { .. }
        ));
    }

    #[test]
    fn advances_after_soak_and_success() {
        let s = spec(90, 20);
        let good = WaveTally {
            members: 10,
            succeeded: 9,
            failed: 1,
            in_progress: 0,
        };
        assert!(
            matches!(judge(&s, &good, t(0), t(29), false), Verdict::Wait { .. }),
            "still soaking"
        );
        assert_eq!(judge(&s, &good, t(0), t(30), false), Verdict::Advance);
        assert_eq!(judge(&s, &good, t(0), t(30), true), Verdict::Complete);
        let approval = WaveSpec {
            needs_approval: true,
            ..s.clone()
        };
        assert_eq!(
            judge(&approval, &good, t(0), t(31), false),
            Verdict::AwaitApproval
        );
        let slow = WaveTally {
            succeeded: 8,
            in_progress: 1,
            ..good
        };
        assert!(matches!(
            judge(&s, &slow, t(0), t(60), false),
            Verdict::Wait { .. }
        ));
    }

    #[test]
    fn an_empty_wave_advances_after_its_soak() {
        let s = spec(90, 20);
        assert!(matches!(
            judge(&s, &WaveTally::default(), t(0), t(10), false),
            Verdict::Wait { .. }
        ));
        assert_eq!(
            judge(&s, &WaveTally::default(), t(0), t(30), false),
            Verdict::Advance
        );
    }

    #[test]
    fn silence_past_the_timeout_is_failure() {
        assert!(!timed_out(t(0), TimeDelta::minutes(60), t(60)));
        assert!(timed_out(t(0), TimeDelta::minutes(60), t(61)));
    }
}
