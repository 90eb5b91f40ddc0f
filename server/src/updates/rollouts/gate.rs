//! Rollout health gates: "pause if the fault rate (of these classes) among
//! boxes updated by this rollout exceeds N × the rate among its target boxes
//! not yet updated, with at least M device-days on each side".
//!
//! A box's time counts on one side or the other: from the moment the gate
//! started counting until its update succeeded it is a not-yet-updated box,
//! from then on an updated one, and it stops counting when it was last
//! heard from. Its faults fall on the side it was on when they happened.
//! Rates are faults per 1,000 device-days, as the fleet summary shows them.

use serde::{Deserialize, Serialize};

use crate::fleet::catalog::rules::FaultClass;

/// Seconds in a day.
const DAY: f64 = 86_400.0;

/// A rollout's health gate, as operators write it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthGate {
    /// The fault classes counted; every class when empty.
    #[serde(default)]
    pub classes: Vec<FaultClass>,
    /// Pause when the updated boxes' rate is more than this many times the
    /// not-yet-updated boxes' rate.
    pub max_ratio: f64,
    /// Device-days each side needs before the gate judges at all.
    pub min_device_days: f64,
    /// Faults among updated boxes below which the gate never pauses (so one
    /// fault against a spotless baseline is not a regression).
    #[serde(default = "one")]
    pub min_faults: u64,
}

fn one() -> u64 {
    1
}

impl HealthGate {
    /// The rules serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if !self.max_ratio.is_finite() || self.max_ratio < 1.0 || self.max_ratio > 1000.0 {
            return Err("health_gate.max_ratio must be between 1 and 1000".into());
        }
        if !self.min_device_days.is_finite()
            || self.min_device_days <= 0.0
            || self.min_device_days > 1_000_000.0
        {
            return Err("health_gate.min_device_days must be above 0 and at most 1000000".into());
        }
        let mut seen = Vec::new();
        for c in &self.classes {
            if seen.contains(c) {
                return Err(format!("health_gate.classes names {} twice", c.as_str()));
            }
            seen.push(*c);
        }
        Ok(())
    }

    /// Whether faults of `class` count.
    pub fn counts(&self, class: FaultClass) -> bool {
        self.classes.is_empty() || self.classes.contains(&class)
    }
}

/// One side's faults and time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exposure {
    pub faults: u64,
    pub device_secs: i64,
}

impl Exposure {
    pub fn device_days(&self) -> f64 {
        // Seconds of a fleet's time stay far below 2^53.
        #[allow(clippy::cast_precision_loss)]
        let secs = self.device_secs.max(0) as f64;
        secs / DAY
    }

    /// Faults per 1,000 device-days; `None` without any time.
    pub fn per_1000_device_days(&self) -> Option<f64> {
        per_1000_device_days(self.faults, self.device_days())
    }
}

/// Faults per 1,000 device-days; `None` when `device_days` is zero.
pub fn per_1000_device_days(faults: u64, device_days: f64) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)]
    (device_days > 0.0).then(|| faults as f64 * 1000.0 / device_days)
}

/// What the gate knows of one target box, in Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateDevice {
    /// When its update by this rollout succeeded, if it did.
    pub updated_at: Option<i64>,
    /// When it was last heard from (its time stops counting there).
    pub last_seen: Option<i64>,
    /// When its counted faults happened.
    pub faults: Vec<i64>,
}

/// Both sides' exposure since `since`: (updated, not yet updated).
pub fn tally(devices: &[GateDevice], since: i64) -> (Exposure, Exposure) {
    let span = |from: i64, to: i64| (to - from).max(0);
    let mut updated = Exposure::default();
    let mut baseline = Exposure::default();
    for d in devices {
        let until = d.last_seen.unwrap_or(since);
        match d.updated_at {
            Some(u) => {
                let u = u.max(since);
                baseline.device_secs += span(since, until.min(u));
                updated.device_secs += span(u, until);
                for &t in d.faults.iter().filter(|&&t| t >= since) {
                    if t >= u {
                        updated.faults += 1;
                    } else {
                        baseline.faults += 1;
                    }
                }
            }
            None => {
                baseline.device_secs += span(since, until);
                baseline.faults += d.faults.iter().filter(|&&t| t >= since).count() as u64;
            }
        }
    }
    (updated, baseline)
}

/// What the gate says.
#[derive(Debug, Clone, PartialEq)]
pub enum GateVerdict {
    /// Not enough device-days on one side yet.
    TooEarly,
    Healthy,
    /// Pause, for this reason.
    Regressed(String),
}

/// Judges a gate on both sides' exposure.
pub fn judge(gate: &HealthGate, updated: &Exposure, baseline: &Exposure) -> GateVerdict {
    if updated.device_days() < gate.min_device_days || baseline.device_days() < gate.min_device_days
    {
        return GateVerdict::TooEarly;
    }
    let (Some(ru), Some(rb)) = (
        updated.per_1000_device_days(),
        baseline.per_1000_device_days(),
    ) else {
        return GateVerdict::TooEarly;
    };
    if updated.faults >= gate.min_faults && ru > gate.max_ratio * rb {
        GateVerdict::Regressed(format!(
            "health gate: {ru:.1} faults per 1,000 device-days among boxes updated by this rollout ({} in {:.2} device-days) against {rb:.1} among target boxes not yet updated ({} in {:.2} device-days); the limit is {}×",
            updated.faults,
            updated.device_days(),
            baseline.faults,
            baseline.device_days(),
            gate.max_ratio,
        ))
    } else {
        GateVerdict::Healthy
    }
}

/// One side of the gate as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GateSide {
    pub faults: u64,
    pub device_days: f64,
    /// Faults per 1,000 device-days; None without any time yet.
    pub per_1000_device_days: Option<f64>,
}

impl From<&Exposure> for GateSide {
    fn from(e: &Exposure) -> Self {
        Self {
            faults: e.faults,
            device_days: e.device_days(),
            per_1000_device_days: e.per_1000_device_days(),
        }
    }
}

/// The gate's figures and verdict as fields, for the API and the CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GateFigures {
    /// Boxes updated by this rollout.
    pub updated: GateSide,
    /// Target boxes not yet updated.
    pub not_updated: GateSide,
    /// The updated boxes' rate over the others' (None while either is
    /// unknown or the others' is zero).
    pub ratio: Option<f64>,
    pub max_ratio: f64,
    pub min_device_days: f64,
    /// `too_early` (not enough device-days yet), `healthy` or `regressed`.
    pub verdict: String,
}

/// The figures behind [`judge`]'s verdict.
pub fn figures(gate: &HealthGate, updated: &Exposure, baseline: &Exposure) -> GateFigures {
    let (u, b): (GateSide, GateSide) = (updated.into(), baseline.into());
    let ratio = match (u.per_1000_device_days, b.per_1000_device_days) {
        (Some(ru), Some(rb)) if rb > 0.0 => Some(ru / rb),
        _ => None,
    };
    let verdict = match judge(gate, updated, baseline) {
        GateVerdict::TooEarly => "too_early",
        GateVerdict::Healthy => "healthy",
        GateVerdict::Regressed(_) => "regressed",
    };
    GateFigures {
        updated: u,
        not_updated: b,
        ratio,
        max_ratio: gate.max_ratio,
        min_device_days: gate.min_device_days,
        verdict: verdict.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> HealthGate {
        HealthGate {
            classes: vec![FaultClass::Software],
            max_ratio: 2.0,
            min_device_days: 1.0,
            min_faults: 1,
        }
    }

    const D: i64 = 86_400;

    #[test]
    fn a_box_counts_on_each_side_for_its_time_there() {
        let devices = [
            // Updated after half a day, seen two days in: ½ day before, 1½ after.
            GateDevice {
                updated_at: Some(D / 2),
                last_seen: Some(2 * D),
                faults: vec![D / 4, D, D + 1],
            },
            // Never updated, seen a day in.
            GateDevice {
                updated_at: None,
                last_seen: Some(D),
                faults: vec![-5, 10],
            },
            // Never heard from since the gate started: no time at all.
            GateDevice {
                updated_at: None,
                last_seen: None,
                faults: vec![],
            },
        ];
        let (u, b) = tally(&devices, 0);
        assert_eq!(
            u,
            Exposure {
                faults: 2,
                device_secs: 3 * D / 2
            }
        );
        // The fault before the gate started (-5) does not count.
        assert_eq!(
            b,
            Exposure {
                faults: 2,
                device_secs: D / 2 + D
            }
        );
    }

    #[test]
    fn an_update_before_the_gate_started_counts_from_the_start() {
        let d = [GateDevice {
            updated_at: Some(100),
            last_seen: Some(1_000),
            faults: vec![500],
        }];
        let (u, b) = tally(&d, 400);
        assert_eq!((u.device_secs, u.faults, b.device_secs), (600, 1, 0));
    }

    #[test]
    fn the_gate_waits_for_device_days_on_both_sides() {
        let many = Exposure {
            faults: 50,
            device_secs: 10 * D,
        };
        let few = Exposure {
            faults: 0,
            device_secs: D / 2,
        };
        assert_eq!(judge(&gate(), &many, &few), GateVerdict::TooEarly);
        assert_eq!(judge(&gate(), &few, &many), GateVerdict::TooEarly);
    }

    #[test]
    fn it_pauses_only_above_the_ratio() {
        let base = Exposure {
            faults: 10,
            device_secs: 10 * D,
        }; // 1,000 per 1,000 device-days
        let at_limit = Exposure {
            faults: 4,
            device_secs: 2 * D,
        }; // 2,000: exactly 2×
        assert_eq!(judge(&gate(), &at_limit, &base), GateVerdict::Healthy);
        let over = Exposure {
            faults: 5,
            device_secs: 2 * D,
        };
        let GateVerdict::Regressed(reason) = judge(&gate(), &over, &base) else {
            panic!("2.5× the baseline must pause");
        };
        assert!(
            reason.contains("2500.0 faults per 1,000 device-days"),
            "{reason}"
        );
        assert!(reason.contains("the limit is 2×"), "{reason}");
    }

    #[test]
    fn against_a_spotless_baseline_min_faults_decides() {
        let clean = Exposure {
            faults: 0,
            device_secs: 5 * D,
        };
        let two = Exposure {
            faults: 2,
            device_secs: 5 * D,
        };
        let g = HealthGate {
            min_faults: 3,
            ..gate()
        };
        assert_eq!(judge(&g, &two, &clean), GateVerdict::Healthy);
        assert!(matches!(
            judge(&gate(), &two, &clean),
            GateVerdict::Regressed(_)
        ));
        assert_eq!(judge(&gate(), &clean, &clean), GateVerdict::Healthy);
    }

    #[test]
    fn gates_are_validated() {
        assert!(gate().validate().is_ok());
        for bad in [
            HealthGate {
                max_ratio: 0.5,
                ..gate()
            },
            HealthGate {
                max_ratio: f64::NAN,
                ..gate()
            },
            HealthGate {
                min_device_days: 0.0,
                ..gate()
            },
            HealthGate {
                classes: vec![FaultClass::Software, FaultClass::Software],
                ..gate()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        let parsed: HealthGate =
            serde_json::from_str(r#"{"max_ratio": 3, "min_device_days": 0.5}"#).expect("parse");
        assert_eq!((parsed.min_faults, parsed.classes.len()), (1, 0));
        assert!(parsed.counts(FaultClass::Hardware));
        assert!(!gate().counts(FaultClass::Hardware));
        assert!(serde_json::from_str::<HealthGate>(r#"{"max_ratio": 3}"#).is_err());
    }

    #[test]
    fn rates_per_thousand_device_days() {
        assert_eq!(per_1000_device_days(3, 0.0), None);
        assert_eq!(per_1000_device_days(3, 1.5), Some(2000.0));
    }

    #[test]
    fn figures_show_both_sides_and_the_verdict() {
        let updated = Exposure {
            faults: 6,
            device_secs: 2 * D,
        };
        let baseline = Exposure {
            faults: 1,
            device_secs: 2 * D,
        };
        let f = figures(&gate(), &updated, &baseline);
        assert_eq!(f.updated.faults, 6);
        assert_eq!(f.ratio, Some(6.0));
        assert_eq!(f.verdict, "regressed");
        let early = figures(&gate(), &Exposure::default(), &baseline);
        assert_eq!((early.ratio, early.verdict.as_str()), (None, "too_early"));
    }
}
