//! Rollout definitions: the target filter, the wave plan as operators write
//! it, and the rollout lifecycle. Pure; the scheduler and the API apply them.

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::waves::{WaveSize, WaveSpec, BUCKETS};
use crate::updates::checkin::offers::Installed;

/// Which devices a rollout targets. Every given criterion must hold; an
/// empty list means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub revisions: Vec<String>,
    #[serde(default)]
    pub regions: Vec<String>,
    /// The device must carry every one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// An explicit list of serials.
    #[serde(default)]
    pub serials: Vec<String>,
    /// A component the device must have installed, in a version range.
    #[serde(default)]
    pub installed: Option<InstalledFilter>,
    /// Plan tiers (`vip`, `premium`, `basic`, …): the box's subscriber must
    /// be on one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<String>,
    /// A licensed product's code: the box must be entitled to it (hold, or
    /// belong to a subscriber holding, a licence for it that allows
    /// updates, activated on it or with room for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entitled_to: Option<String>,
}

/// A component a targeted device must have installed, in a version range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstalledFilter {
    pub name: String,
    /// A semver requirement, e.g. `>=2.0, <3`.
    #[schema(value_type = String)]
    pub version: semver::VersionReq,
}

/// What the target filter looks at.
#[derive(Debug, Clone, Copy)]
pub struct DeviceFacts<'a> {
    pub serial: &'a str,
    pub model: &'a str,
    pub revision: &'a str,
    pub region: Option<&'a str>,
    pub tags: &'a [String],
    pub installed: &'a [Installed],
}

/// What the target's account criteria look at: the plan of the box's
/// subscriber, and whether the box is entitled to the target's product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account<'a> {
    pub plan: Option<&'a str>,
    pub entitled: bool,
}

impl Target {
    /// Whether the target looks at the box's account (plan, licences),
    /// which the box's own facts do not tell.
    pub fn looks_at_accounts(&self) -> bool {
        !self.plans.is_empty() || self.entitled_to.is_some()
    }

    /// The account criteria, for a box whose own facts already match.
    pub fn matches_account(&self, a: &Account<'_>) -> bool {
        (self.plans.is_empty() || a.plan.is_some_and(|p| self.plans.iter().any(|x| x == p)))
            && (self.entitled_to.is_none() || a.entitled)
    }

    pub fn matches(&self, d: &DeviceFacts<'_>) -> bool {
        let any = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        any(&self.models, d.model)
            && any(&self.revisions, d.revision)
            && any(&self.serials, d.serial)
            && (self.regions.is_empty() || d.region.is_some_and(|r| any(&self.regions, r)))
            && self.tags.iter().all(|t| d.tags.contains(t))
            && self.installed.as_ref().is_none_or(|f| {
                d.installed
                    .iter()
                    .any(|i| i.name == f.name && f.version.matches(&i.version))
            })
    }
}

/// One wave as an operator writes it: `percent` (cumulative share of the
/// target) or `count` (cumulative number of devices).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WavePlan {
    #[serde(default)]
    pub percent: Option<f64>,
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub soak_secs: u64,
    #[serde(default = "default_success")]
    pub success_threshold_pct: u32,
    #[serde(default = "default_failure")]
    pub failure_threshold_pct: u32,
    #[serde(default)]
    pub needs_approval: bool,
}

fn default_success() -> u32 {
    95
}
fn default_failure() -> u32 {
    10
}

/// Checks a wave plan and turns it into specs. Waves must grow.
pub fn wave_specs(plan: &[WavePlan]) -> Result<Vec<WaveSpec>, String> {
    if plan.is_empty() {
        return Err("a rollout needs at least one wave".into());
    }
    let mut last_bp = 0u32;
    let mut last_count = 0u32;
    plan.iter()
        .enumerate()
        .map(|(i, w)| {
            let n = i + 1;
            let size = match (w.percent, w.count) {
                (Some(p), None) if p > 0.0 && p <= 100.0 => {
                    let bp = (p * 100.0).round() as u32;
                    if bp <= last_bp {
                        return Err(format!(
                            "wave {n}: {p} % is not larger than the wave before"
                        ));
                    }
                    last_bp = bp;
                    WaveSize::Percent(bp.min(BUCKETS))
                }
                (None, Some(c)) if c > 0 => {
                    if c <= last_count {
                        return Err(format!(
                            "wave {n}: {c} devices is not more than the wave before"
                        ));
                    }
                    last_count = c;
                    WaveSize::Count(c)
                }
                _ => {
                    return Err(format!(
                        "wave {n}: give either percent (0-100] or count (> 0)"
                    ))
                }
            };
            if w.success_threshold_pct > 100 || w.failure_threshold_pct > 100 {
                return Err(format!("wave {n}: thresholds are percentages (0-100)"));
            }
            Ok(WaveSpec {
                size,
                soak: TimeDelta::seconds(i64::try_from(w.soak_secs).unwrap_or(i64::MAX / 2)),
                success_threshold_pct: w.success_threshold_pct,
                failure_threshold_pct: w.failure_threshold_pct,
                needs_approval: w.needs_approval,
            })
        })
        .collect()
}

/// Where a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RolloutState {
    Scheduled,
    Running,
    Paused,
    AwaitingApproval,
    Completed,
    Aborted,
}

/// What operators ask of a rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolloutAction {
    Pause,
    Resume,
    Approve,
    Abort,
}

impl std::str::FromStr for RolloutAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pause" => Ok(Self::Pause),
            "resume" => Ok(Self::Resume),
            "approve" => Ok(Self::Approve),
            "abort" => Ok(Self::Abort),
            other => Err(format!(
                "no rollout action {other:?}; use pause, resume, approve, abort or rollback"
            )),
        }
    }
}

impl RolloutAction {
    /// The audit log's name for the action.
    pub fn audit_action(self) -> &'static str {
        match self {
            Self::Pause => "rollout.pause",
            Self::Resume => "rollout.resume",
            Self::Approve => "rollout.approve",
            Self::Abort => "rollout.abort",
        }
    }
}

impl RolloutState {
    pub const ALL: [RolloutState; 6] = [
        Self::Scheduled,
        Self::Running,
        Self::Paused,
        Self::AwaitingApproval,
        Self::Completed,
        Self::Aborted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::AwaitingApproval => "awaiting_approval",
            Self::Completed => "completed",
            Self::Aborted => "aborted",
        }
    }

    /// The audit log's name for entering this state.
    pub fn audit_action(self) -> &'static str {
        match self {
            Self::Scheduled => "rollout.scheduled",
            Self::Running => "rollout.running",
            Self::Paused => "rollout.paused",
            Self::AwaitingApproval => "rollout.awaiting_approval",
            Self::Completed => "rollout.completed",
            Self::Aborted => "rollout.aborted",
        }
    }

    /// Whether nothing more happens to the rollout (completed, aborted).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Aborted)
    }

    /// Whether devices in open waves are offered the rollout. A completed
    /// rollout keeps offering to matching devices that join later.
    pub fn offers(self) -> bool {
        matches!(
            self,
            Self::Running | Self::AwaitingApproval | Self::Completed
        )
    }

    /// The state after an operator's action, or why not.
    pub fn apply(self, action: RolloutAction) -> Result<RolloutState, String> {
        use RolloutAction as A;
        use RolloutState as S;
        match (self, action) {
            (S::Completed | S::Aborted, _) => Err(format!(
                "the rollout is {}; nothing more can happen to it",
                self.as_str()
            )),
            (_, A::Abort) => Ok(S::Aborted),
            (S::Scheduled | S::Running | S::AwaitingApproval | S::Paused, A::Pause) => {
                Ok(S::Paused)
            }
            (S::Paused, A::Resume) => Ok(S::Running),
            (S::AwaitingApproval, A::Approve) => Ok(S::Running),
            (s, A::Resume) => Err(format!(
                "only a paused rollout can be resumed; it is {}",
                s.as_str()
            )),
            (s, A::Approve) => Err(format!(
                "the rollout is not waiting for approval; it is {}",
                s.as_str()
            )),
        }
    }
}

impl std::str::FromStr for RolloutState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown rollout state {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(tags: &'a [String], installed: &'a [Installed]) -> DeviceFacts<'a> {
        DeviceFacts {
            serial: "SN1",
            model: "X1",
            revision: "A",
            region: Some("north"),
            tags,
            installed,
        }
    }

    #[test]
    fn account_criteria_look_at_plan_and_entitlement() {
        let any = Target::default();
        assert!(!any.looks_at_accounts());
        let none = Account {
            plan: None,
            entitled: false,
        };
        assert!(any.matches_account(&none));
        let vip = Target {
            plans: vec!["vip".into(), "premium".into()],
            ..Target::default()
        };
        assert!(vip.looks_at_accounts());
        let on = |plan, entitled| Account { plan, entitled };
        assert!(vip.matches_account(&on(Some("premium"), false)));
        assert!(!vip.matches_account(&on(Some("basic"), true)));
        assert!(!vip.matches_account(&none), "a box of no subscriber");
        let licensed = Target {
            entitled_to: Some("codec-ddp".into()),
            ..vip
        };
        assert!(licensed.matches_account(&on(Some("vip"), true)));
        assert!(!licensed.matches_account(&on(Some("vip"), false)));
    }

    #[test]
    fn target_criteria_all_hold() {
        let tags = vec!["beta".to_owned(), "fibre".to_owned()];
        let installed = vec![Installed {
            name: "x1-firmware".into(),
            version: "4.1.0".parse().expect("v"),
            security_version: 6,
        }];
        let d = facts(&tags, &installed);
        assert!(Target::default().matches(&d), "an empty target is everyone");
        let t = Target {
            models: vec!["X1".into()],
            revisions: vec!["A".into(), "B".into()],
            regions: vec!["north".into()],
            tags: vec!["beta".into()],
            serials: vec![],
            installed: Some(InstalledFilter {
                name: "x1-firmware".into(),
                version: "<4.2.0".parse().expect("req"),
            }),
            ..Target::default()
        };
        assert!(t.matches(&d));
        for t2 in [
            Target {
                models: vec!["X2".into()],
                ..t.clone()
            },
            Target {
                tags: vec!["beta".into(), "vip".into()],
                ..t.clone()
            },
            Target {
                serials: vec!["SN2".into()],
                ..t.clone()
            },
            Target {
                regions: vec!["south".into()],
                ..t.clone()
            },
            Target {
                installed: Some(InstalledFilter {
                    name: "x1-firmware".into(),
                    version: ">=4.2.0".parse().expect("req"),
                }),
                ..t.clone()
            },
        ] {
            assert!(!t2.matches(&d), "{t2:?}");
        }
    }

    #[test]
    fn wave_plans_must_grow() {
        let w = |percent: Option<f64>, count: Option<u32>| WavePlan {
            percent,
            count,
            soak_secs: 60,
            success_threshold_pct: 90,
            failure_threshold_pct: 10,
            needs_approval: false,
        };
        let specs = wave_specs(&[
            w(Some(10.0), None),
            w(Some(50.0), None),
            w(Some(100.0), None),
        ])
        .expect("ok");
        assert_eq!(specs[0].size, WaveSize::Percent(1000));
        assert_eq!(specs[2].size, WaveSize::Percent(10_000));
        assert!(wave_specs(&[]).is_err());
        assert!(wave_specs(&[w(Some(50.0), None), w(Some(10.0), None)]).is_err());
        assert!(
            wave_specs(&[w(Some(10.0), Some(5))]).is_err(),
            "one or the other"
        );
        assert!(wave_specs(&[w(Some(150.0), None)]).is_err());
        assert!(wave_specs(&[w(None, Some(5)), w(None, Some(5))]).is_err());
        assert_eq!(
            wave_specs(&[w(None, Some(5))]).expect("ok")[0].size,
            WaveSize::Count(5)
        );
    }

    #[test]
    fn lifecycle() {
        use RolloutAction as A;
        use RolloutState as S;
        assert_eq!(S::Running.apply(A::Pause), Ok(S::Paused));
        assert_eq!(S::Paused.apply(A::Resume), Ok(S::Running));
        assert_eq!(S::AwaitingApproval.apply(A::Approve), Ok(S::Running));
        assert_eq!(S::Scheduled.apply(A::Abort), Ok(S::Aborted));
        assert!(S::Running.apply(A::Resume).is_err());
        assert!(S::Running.apply(A::Approve).is_err());
        assert!(S::Aborted.apply(A::Resume).is_err());
        assert!(S::Completed.apply(A::Pause).is_err());
        assert!(S::Running.offers() && S::AwaitingApproval.offers() && S::Completed.offers());
        assert!(!S::Paused.offers() && !S::Scheduled.offers() && !S::Aborted.offers());
    }
}
