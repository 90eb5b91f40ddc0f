//! Where a rollout stands, as pure rules: which stage each target box is
//! at, the counts per wave (opened waves and the waves still to come), when
//! boxes that never showed up stop counting ("not reached"), and the one
//! reason a rollout is waiting, in words an operator can act on.
//!
//! The stages of a box, each box in exactly one:
//!
//! ```text
//! pending        its wave has not opened
//! not heard from its wave is open; it has not checked in since
//! held back      checked in, but outside its maintenance window, or the
//!                rollout is at its download limit
//! eligible       it takes the update at its next check-in
//! downloading → installing → succeeded | failed | rolled back
//! not reached    never showed up, and the rollout stopped waiting for it
//! not entitled   every bundle it would need is licensed, and it holds no
//!                licence for them: never offered, not waited for
//! ```

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use wavecast_protocol::status::InstallState;

use super::{
    rules::RolloutState,
    waves::{threshold, wave_of, WaveSpec, WaveTally},
};

/// How one device stands in a rollout, for tallies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceOutcome {
    Succeeded,
    Failed,
    InProgress,
}

/// Why a box that checked in has not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Outside its maintenance window now.
    Window,
    /// The rollout is at its download limit.
    Concurrency,
}

/// What the rules need to know of one target box.
#[derive(Debug, Clone)]
pub struct BoxStanding {
    pub bucket: u32,
    /// Its install states in this rollout (one per bundle it started).
    pub states: Vec<InstallState>,
    pub outcome: DeviceOutcome,
    /// Checked in since its wave opened.
    pub heard: bool,
    /// Why it has not started though it checked in, if something holds it.
    pub held: Option<Held>,
    /// Everything it would need is licensed and it is not entitled to it.
    pub not_entitled: bool,
}

/// The stage a box is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Pending,
    NotHeardFrom,
    HeldBack(Held),
    Eligible,
    Downloading,
    Installing,
    Succeeded,
    Failed,
    RolledBack,
    NotReached,
    NotEntitled,
}

/// The stage of `b`, whose wave is open or not; `unreached`: the rollout
/// has stopped waiting for boxes that never showed up.
pub fn stage(b: &BoxStanding, wave_open: bool, unreached: bool) -> Stage {
    if b.states.contains(&InstallState::RolledBack) {
        return Stage::RolledBack;
    }
    if b.outcome == DeviceOutcome::Failed {
        return Stage::Failed;
    }
    if b.outcome == DeviceOutcome::Succeeded && !b.states.is_empty() {
        return Stage::Succeeded;
    }
    if b.states
        .iter()
        .any(|s| matches!(s, InstallState::Installing | InstallState::Rebooting))
    {
        return Stage::Installing;
    }
    if !b.states.is_empty() {
        return Stage::Downloading;
    }
    if b.not_entitled {
        return Stage::NotEntitled;
    }
    if b.outcome == DeviceOutcome::Succeeded {
        // Nothing to install: it already runs what the rollout offers.
        return Stage::Succeeded;
    }
    match (wave_open, unreached, b.heard, b.held) {
        (false, ..) => Stage::Pending,
        (true, true, false, _) => Stage::NotReached,
        (true, _, false, _) => Stage::NotHeardFrom,
        (true, _, true, Some(h)) => Stage::HeldBack(h),
        (true, _, true, None) => Stage::Eligible,
    }
}

/// One wave's boxes by stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WaveCounts {
    /// 1-based.
    pub wave: u32,
    pub open: bool,
    /// Target boxes in this wave (for a wave still to come, as the target
    /// stands now).
    pub targeted: u64,
    pub eligible_now: u64,
    pub not_heard_from: u64,
    pub held_by_window: u64,
    pub held_by_limit: u64,
    pub downloading: u64,
    pub installing: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub rolled_back: u64,
    pub not_reached: u64,
    /// Boxes the rollout's licensed bundles are not for: they hold no
    /// licence (or the licence's box limit is reached). Not waited for.
    #[serde(default)]
    pub not_entitled: u64,
}

impl WaveCounts {
    fn add(&mut self, s: Stage) {
        self.targeted += 1;
        match s {
            Stage::Pending => {}
            Stage::NotHeardFrom => self.not_heard_from += 1,
            Stage::HeldBack(Held::Window) => self.held_by_window += 1,
            Stage::HeldBack(Held::Concurrency) => self.held_by_limit += 1,
            Stage::Eligible => self.eligible_now += 1,
            Stage::Downloading => self.downloading += 1,
            Stage::Installing => self.installing += 1,
            Stage::Succeeded => self.succeeded += 1,
            Stage::Failed => self.failed += 1,
            Stage::RolledBack => self.rolled_back += 1,
            Stage::NotReached => self.not_reached += 1,
            Stage::NotEntitled => self.not_entitled += 1,
        }
    }

    /// Boxes still on their way (started or about to).
    pub fn under_way(&self) -> u64 {
        self.downloading + self.installing
    }
}

/// The bucket thresholds of every wave: the opened ones as they were cut,
/// then the waves still to come as they would be cut from `buckets` (the
/// target's buckets, sorted) now.
pub fn planned_thresholds(specs: &[WaveSpec], opened: &[u32], sorted_buckets: &[u32]) -> Vec<u32> {
    let mut out = opened.to_vec();
    for spec in specs.iter().skip(opened.len()) {
        let t = threshold(spec.size, sorted_buckets).max(out.last().copied().unwrap_or(0));
        out.push(t);
    }
    out
}

/// The counts of every wave. `open_waves` waves are open; `unreached`:
/// boxes of open waves that never showed up count as not reached.
pub fn wave_counts(
    specs: &[WaveSpec],
    opened: &[u32],
    open_waves: usize,
    boxes: &[BoxStanding],
    unreached: bool,
) -> Vec<WaveCounts> {
    let mut buckets: Vec<u32> = boxes.iter().map(|b| b.bucket).collect();
    buckets.sort_unstable();
    let thresholds = planned_thresholds(specs, opened, &buckets);
    let mut out: Vec<WaveCounts> = (0..specs.len())
        .map(|i| WaveCounts {
            wave: u32::try_from(i + 1).unwrap_or(u32::MAX),
            open: i < open_waves,
            ..WaveCounts::default()
        })
        .collect();
    for b in boxes {
        let Some(w) = wave_of(b.bucket, &thresholds) else {
            continue;
        };
        let open = w < open_waves;
        out[w].add(stage(b, open, unreached));
    }
    out
}

/// The tally the wave verdict judges: the current wave's boxes, without
/// those the rollout stopped waiting for or is not for.
pub fn tally(c: &WaveCounts) -> WaveTally {
    let n = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
    let members = c.targeted - c.not_reached - c.not_entitled;
    WaveTally {
        members: n(members),
        succeeded: n(c.succeeded),
        failed: n(c.failed + c.rolled_back),
        in_progress: n(members - c.succeeded - c.failed - c.rolled_back),
    }
}

/// When the rollout stops waiting for boxes that never showed up: the
/// current wave (`opened` then) has been open `after`. For the last wave
/// this is when the rollout can complete without them. None: it waits for
/// them, or no wave is open yet.
pub fn unreached_at(
    opened: Option<DateTime<Utc>>,
    after: Option<TimeDelta>,
) -> Option<DateTime<Utc>> {
    Some(opened? + after?)
}

/// Why a rollout is waiting: the one thing that holds it now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Waiting {
    /// Not started: its first wave opens then.
    Scheduled { starts_at: DateTime<Utc> },
    /// Due, but no box matches the target yet: the first wave opens at the
    /// scheduler's first pass after one does.
    NoTarget,
    /// Paused (by an operator, a failure threshold or the health gate:
    /// the rollout's reason says which).
    Paused,
    /// The current wave is done; an operator approves the next.
    Approval,
    /// The current wave soaks until then.
    Soak { until: DateTime<Utc> },
    /// Boxes of the current wave are downloading or installing.
    Installing { boxes: u64 },
    /// Boxes are outside their maintenance window now.
    Window { boxes: u64 },
    /// Boxes wait for a download slot.
    DownloadLimit { boxes: u64 },
    /// Boxes have not checked in since their wave opened; with
    /// `unreached_after`, they stop counting at `until`.
    NotHeardFrom {
        boxes: u64,
        until: Option<DateTime<Utc>>,
    },
    /// Boxes take the update at their next check-in.
    NextCheckin { boxes: u64 },
}

impl Waiting {
    /// The reason in a sentence.
    pub fn describe(&self) -> String {
        match self {
            Self::Scheduled { starts_at } => {
                format!("scheduled: the first wave opens at {starts_at}")
            }
            Self::NoTarget => {
                "no box matches the target yet: the first wave opens once one does".into()
            }
            Self::Paused => "paused: resume it to go on".into(),
            Self::Approval => "waiting for an operator to approve the next wave".into(),
            Self::Soak { until } => format!("the wave soaks until {until}"),
            Self::Installing { boxes } => format!("{boxes} box(es) downloading or installing"),
            Self::Window { boxes } => {
                format!("{boxes} box(es) outside their maintenance window")
            }
            Self::DownloadLimit { boxes } => {
                format!("{boxes} box(es) waiting for a download slot (max_concurrent_downloads)")
            }
            Self::NotHeardFrom { boxes, until: None } => format!(
                "{boxes} box(es) not heard from since their wave opened \
                 (set unreached_after_secs to stop waiting for them)"
            ),
            Self::NotHeardFrom {
                boxes,
                until: Some(at),
            } => format!(
                "{boxes} box(es) not heard from since their wave opened; \
                 they count as not reached from {at}"
            ),
            Self::NextCheckin { boxes } => {
                format!("{boxes} box(es) take the update at their next check-in")
            }
        }
    }
}

/// Why a running wave that has not met its success threshold waits,
/// from its counts: the boxes under way first, then those held back, then
/// those not heard from, then those due to check in.
pub fn why_wave_waits(c: &WaveCounts, unreached_at: Option<DateTime<Utc>>) -> Option<Waiting> {
    if c.under_way() > 0 {
        Some(Waiting::Installing {
            boxes: c.under_way(),
        })
    } else if c.held_by_window > 0 {
        Some(Waiting::Window {
            boxes: c.held_by_window,
        })
    } else if c.held_by_limit > 0 {
        Some(Waiting::DownloadLimit {
            boxes: c.held_by_limit,
        })
    } else if c.not_heard_from > 0 {
        Some(Waiting::NotHeardFrom {
            boxes: c.not_heard_from,
            until: unreached_at,
        })
    } else if c.eligible_now > 0 {
        Some(Waiting::NextCheckin {
            boxes: c.eligible_now,
        })
    } else {
        None
    }
}

/// What decides what a rollout waits for.
#[derive(Debug, Clone, Copy)]
pub struct Moment<'a> {
    pub state: RolloutState,
    pub starts_at: DateTime<Utc>,
    /// Boxes the target matches now.
    pub target_size: u64,
    /// When the current wave's soak ends.
    pub soak_ends_at: Option<DateTime<Utc>>,
    /// The current wave's counts.
    pub current: Option<&'a WaveCounts>,
    /// The current wave's verdict is to wait (not to advance, pause or
    /// complete, which the scheduler does at its next pass).
    pub wave_waits: bool,
    pub unreached_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// The one thing a rollout waits for now, if anything.
pub fn waiting(m: &Moment<'_>) -> Option<Waiting> {
    match m.state {
        RolloutState::Scheduled if m.now >= m.starts_at && m.target_size == 0 => {
            Some(Waiting::NoTarget)
        }
        RolloutState::Scheduled => Some(Waiting::Scheduled {
            starts_at: m.starts_at,
        }),
        RolloutState::Paused => Some(Waiting::Paused),
        RolloutState::AwaitingApproval => Some(Waiting::Approval),
        RolloutState::Running => match m.soak_ends_at {
            Some(until) if m.now < until => Some(Waiting::Soak { until }),
            _ if m.wave_waits => why_wave_waits(m.current?, m.unreached_at),
            _ => None,
        },
        RolloutState::Completed | RolloutState::Aborted => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::updates::rollouts::waves::WaveSize;

    fn spec(bp: u32) -> WaveSpec {
        WaveSpec {
            size: WaveSize::Percent(bp),
            soak: TimeDelta::zero(),
            success_threshold_pct: 95,
            failure_threshold_pct: 10,
            needs_approval: false,
        }
    }

    fn b(bucket: u32, states: &[InstallState], outcome: DeviceOutcome, heard: bool) -> BoxStanding {
        BoxStanding {
            bucket,
            states: states.to_vec(),
            outcome,
            heard,
            held: None,
            not_entitled: false,
        }
    }

    #[test]
    fn each_box_is_at_one_stage() {
        use DeviceOutcome::*;
        use InstallState as S;
        let silent = b(1, &[], InProgress, false);
        assert_eq!(stage(&silent, false, false), Stage::Pending);
        assert_eq!(stage(&silent, true, false), Stage::NotHeardFrom);
        assert_eq!(stage(&silent, true, true), Stage::NotReached);
        let heard = b(1, &[], InProgress, true);
        assert_eq!(stage(&heard, true, true), Stage::Eligible, "it showed up");
        let held = BoxStanding {
            held: Some(Held::Window),
            ..heard.clone()
        };
        assert_eq!(stage(&held, true, false), Stage::HeldBack(Held::Window));
        assert_eq!(
            stage(&b(1, &[S::Downloading], InProgress, true), true, true),
            Stage::Downloading
        );
        assert_eq!(
            stage(
                &b(1, &[S::Succeeded, S::Rebooting], InProgress, true),
                true,
                false
            ),
            Stage::Installing
        );
        assert_eq!(
            stage(&b(1, &[S::Succeeded], Succeeded, true), true, false),
            Stage::Succeeded
        );
        assert_eq!(
            stage(&b(1, &[S::Failed], Failed, true), true, false),
            Stage::Failed
        );
        assert_eq!(
            stage(&b(1, &[S::RolledBack], Failed, true), true, false),
            Stage::RolledBack
        );
        assert_eq!(
            stage(&b(1, &[], Succeeded, false), true, false),
            Stage::Succeeded,
            "already runs it"
        );
    }

    #[test]
    fn counts_cover_every_wave_and_every_box() {
        use DeviceOutcome::*;
        use InstallState as S;
        let specs = [spec(1000), spec(5000), spec(10_000)];
        let boxes = vec![
            b(10, &[S::Succeeded], Succeeded, true),
            b(20, &[S::Failed], Failed, true),
            b(2000, &[], InProgress, false),
            b(3000, &[S::Installing], InProgress, true),
            b(7000, &[], InProgress, true),
        ];
        let c = wave_counts(&specs, &[1000, 5000], 2, &boxes, false);
        assert_eq!(c.len(), 3);
        assert_eq!((c[0].targeted, c[0].succeeded, c[0].failed), (2, 1, 1));
        assert_eq!(
            (c[1].targeted, c[1].not_heard_from, c[1].installing),
            (2, 1, 1)
        );
        assert!(!c[2].open);
        assert_eq!(c[2].targeted, 1, "the wave to come, as the target stands");
        assert_eq!(c.iter().map(|w| w.targeted).sum::<u64>(), 5);
    }

    #[test]
    fn boxes_not_reached_leave_the_tally() {
        let c = WaveCounts {
            wave: 3,
            open: true,
            targeted: 50,
            succeeded: 47,
            not_reached: 3,
            ..WaveCounts::default()
        };
        let t = tally(&c);
        assert_eq!((t.members, t.succeeded, t.in_progress), (47, 47, 0));
        let waiting = WaveCounts {
            not_reached: 0,
            not_heard_from: 3,
            ..c
        };
        let t = tally(&waiting);
        assert_eq!((t.members, t.in_progress), (50, 3));
    }

    #[test]
    fn boxes_not_entitled_are_counted_apart_and_not_waited_for() {
        let lacking = BoxStanding {
            not_entitled: true,
            ..b(10, &[], DeviceOutcome::Succeeded, true)
        };
        assert_eq!(stage(&lacking, true, false), Stage::NotEntitled);
        let c = wave_counts(
            &[spec(10_000)],
            &[10_000],
            1,
            &[
                lacking,
                b(
                    20,
                    &[InstallState::Succeeded],
                    DeviceOutcome::Succeeded,
                    true,
                ),
            ],
            false,
        );
        assert_eq!(
            (c[0].targeted, c[0].succeeded, c[0].not_entitled),
            (2, 1, 1)
        );
        let t = tally(&c[0]);
        assert_eq!((t.members, t.succeeded, t.in_progress), (1, 1, 0));
    }

    #[test]
    fn the_rollout_stops_waiting_only_when_told() {
        let at = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let hour = Some(TimeDelta::hours(1));
        assert_eq!(unreached_at(Some(at), hour), Some(at + TimeDelta::hours(1)));
        assert_eq!(unreached_at(None, hour), None, "no wave open yet");
        assert_eq!(unreached_at(Some(at), None), None, "waits for them");
    }

    #[test]
    fn the_reason_names_what_holds_the_wave() {
        let mut c = WaveCounts {
            targeted: 10,
            succeeded: 5,
            not_heard_from: 3,
            held_by_window: 1,
            installing: 1,
            ..WaveCounts::default()
        };
        assert_eq!(
            why_wave_waits(&c, None),
            Some(Waiting::Installing { boxes: 1 })
        );
        c.installing = 0;
        assert_eq!(why_wave_waits(&c, None), Some(Waiting::Window { boxes: 1 }));
        c.held_by_window = 0;
        let w = why_wave_waits(&c, None).expect("waiting");
        assert_eq!(
            w,
            Waiting::NotHeardFrom {
                boxes: 3,
                until: None
            }
        );
        assert!(
            w.describe().contains("unreached_after_secs"),
            "{}",
            w.describe()
        );
    }

    #[test]
    fn a_running_rollout_waits_for_its_soak_then_its_boxes() {
        let t = |min: i64| DateTime::from_timestamp(1_800_000_000 + min * 60, 0).expect("time");
        let c = WaveCounts {
            targeted: 4,
            succeeded: 1,
            not_heard_from: 3,
            ..WaveCounts::default()
        };
        let mut m = Moment {
            state: RolloutState::Running,
            starts_at: t(0),
            target_size: 4,
            soak_ends_at: Some(t(30)),
            current: Some(&c),
            wave_waits: true,
            unreached_at: Some(t(60)),
            now: t(10),
        };
        assert_eq!(waiting(&m), Some(Waiting::Soak { until: t(30) }));
        m.now = t(40);
        assert_eq!(
            waiting(&m),
            Some(Waiting::NotHeardFrom {
                boxes: 3,
                until: Some(t(60))
            })
        );
        m.wave_waits = false;
        assert_eq!(waiting(&m), None, "the scheduler moves on at its next pass");
        m.state = RolloutState::AwaitingApproval;
        assert_eq!(waiting(&m), Some(Waiting::Approval));
        m.state = RolloutState::Completed;
        assert_eq!(waiting(&m), None);
        m.state = RolloutState::Scheduled;
        assert_eq!(waiting(&m), Some(Waiting::Scheduled { starts_at: t(0) }));
        m.target_size = 0;
        assert_eq!(
            waiting(&m),
            Some(Waiting::NoTarget),
            "due, but nothing to open on"
        );
    }
}
