//! The rules of licences, pure: whether a licence is valid for a box and a
//! product at a time, with the machine-readable code that says why (as
//! Keygen's validation answers), what the policy says happens at expiry,
//! and whether one more box may be activated.
//!
//! The checks run in a fixed order, so a licence that is both revoked and
//! expired always answers `REVOKED`: the state an operator set, then
//! expiry under "stop", then the scope the caller asked about (product,
//! box), activation, entitlements, and last expiry under the policies that
//! keep working.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::platform::text::text_enum;

/// What happens when a licence expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Expiry {
    /// The licensed component stops at once (after the grace period).
    Stop,
    /// What is installed keeps working; no more updates of the product.
    KeepInstalled,
    /// Everything keeps working, updates too: the expiry is only reported.
    KeepUsing,
}

text_enum!(Expiry, "expiry behaviour",
    Stop => "stop", KeepInstalled => "keep_installed", KeepUsing => "keep_using");

/// A licence's state, as an operator sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LicenceState {
    Active,
    /// Stopped for now (unpaid bill); reinstating brings it back.
    Suspended,
    /// Ended for good.
    Revoked,
}

text_enum!(LicenceState, "licence state",
    Active => "active", Suspended => "suspended", Revoked => "revoked");

/// Why a licence is or is not valid: the validation API's `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    Valid,
    NotFound,
    Expired,
    Suspended,
    Revoked,
    TooManyDevices,
    NotActivated,
    EntitlementsMissing,
    ProductMismatch,
    DeviceMismatch,
}

impl Code {
    /// The code as the wire spells it (`TOO_MANY_DEVICES`).
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Valid => "VALID",
            Code::NotFound => "NOT_FOUND",
            Code::Expired => "EXPIRED",
            Code::Suspended => "SUSPENDED",
            Code::Revoked => "REVOKED",
            Code::TooManyDevices => "TOO_MANY_DEVICES",
            Code::NotActivated => "NOT_ACTIVATED",
            Code::EntitlementsMissing => "ENTITLEMENTS_MISSING",
            Code::ProductMismatch => "PRODUCT_MISMATCH",
            Code::DeviceMismatch => "DEVICE_MISMATCH",
        }
    }
}

/// The terms a licence is sold under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// How long a licence lasts from its start; `None`: for ever.
    pub duration: Option<Duration>,
    pub expiry: Expiry,
    /// How long after expiry a licence still counts as valid.
    pub grace: Duration,
    /// Boxes that may hold an activation at once (1 when node-locked).
    pub max_boxes: u32,
    /// Floating: an activation may be moved to another box (deactivate,
    /// then activate); node-locked: the first box keeps it.
    pub floating: bool,
    /// Activations in any 24 hours, so deactivate/activate churn cannot
    /// mint boxes without end.
    pub max_activations_per_day: u32,
    /// Entitlement codes every licence of the policy grants.
    pub entitlements: BTreeSet<String>,
}

/// Who holds a licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// A subscriber: any of their boxes may use it.
    Subscriber(Uuid),
    /// One box.
    Device(Uuid),
}

/// A licence as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licence {
    pub product: String,
    pub holder: Holder,
    pub state: LicenceState,
    pub expires_at: Option<DateTime<Utc>>,
    /// Entitlements of this licence beyond its policy's.
    pub entitlements: BTreeSet<String>,
}

impl Licence {
    /// Every entitlement the licence grants under `policy`.
    pub fn granted(&self, policy: &Policy) -> BTreeSet<String> {
        policy
            .entitlements
            .union(&self.entitlements)
            .cloned()
            .collect()
    }
}

/// What a validation is about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope {
    /// The product the caller wants to use.
    pub product: Option<String>,
    /// The box that wants to use it.
    pub device: Option<ScopeDevice>,
    /// Entitlement codes the caller needs.
    pub entitlements: Vec<String>,
}

/// The box of a validation: its id, the subscriber it belongs to, and
/// whether it holds an activation of the licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeDevice {
    pub id: Uuid,
    pub subscriber: Option<Uuid>,
    pub activated: bool,
}

/// The answer of a validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The box may use the product now.
    pub valid: bool,
    pub code: Code,
    /// Updates of the product may be offered.
    pub updates: bool,
    pub detail: String,
}

impl Verdict {
    fn no(code: Code, detail: impl Into<String>) -> Self {
        Self {
            valid: false,
            code,
            updates: false,
            detail: detail.into(),
        }
    }
}

/// The end of a licence starting at `start` under `policy`, unless given.
pub fn expires_at(
    policy: &Policy,
    start: DateTime<Utc>,
    given: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    given.or_else(|| policy.duration.map(|d| start + d))
}

/// Until when a box may use what `licence` covers: its expiry plus the
/// grace period when the policy stops use at expiry; `None` when use never
/// ends (no expiry, or a policy that keeps what is installed working).
pub fn use_until(licence: &Licence, policy: &Policy) -> Option<DateTime<Utc>> {
    match policy.expiry {
        Expiry::Stop => licence.expires_at.map(|end| end + policy.grace),
        Expiry::KeepInstalled | Expiry::KeepUsing => None,
    }
}

/// Validates `licence` under `policy` at `now` for `scope`.
pub fn validate(licence: &Licence, policy: &Policy, now: DateTime<Utc>, scope: &Scope) -> Verdict {
    match licence.state {
        LicenceState::Revoked => return Verdict::no(Code::Revoked, "the licence is revoked"),
        LicenceState::Suspended => return Verdict::no(Code::Suspended, "the licence is suspended"),
        LicenceState::Active => {}
    }
    let expired = licence.expires_at.filter(|end| now >= *end);
    let in_grace = expired.is_some_and(|end| now < end + policy.grace);
    if let Some(end) = expired {
        if policy.expiry == Expiry::Stop && !in_grace {
            return Verdict::no(
                Code::Expired,
                format!("the licence expired at {}", end.to_rfc3339()),
            );
        }
    }
    if let Some(product) = &scope.product {
        if *product != licence.product {
            return Verdict::no(
                Code::ProductMismatch,
                format!("the licence is for {}, not {product}", licence.product),
            );
        }
    }
    if let Some(device) = &scope.device {
        let holds = match licence.holder {
            Holder::Device(id) => id == device.id,
            Holder::Subscriber(s) => device.subscriber == Some(s),
        };
        if !holds {
            return Verdict::no(
                Code::DeviceMismatch,
                "the licence is neither this box's nor its subscriber's",
            );
        }
        if !device.activated {
            return Verdict::no(
                Code::NotActivated,
                "the licence is not activated on this box",
            );
        }
    }
    let granted = licence.granted(policy);
    let missing: Vec<&str> = scope
        .entitlements
        .iter()
        .filter(|e| !granted.contains(*e))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Verdict::no(
            Code::EntitlementsMissing,
            format!("the licence does not grant {}", missing.join(", ")),
        );
    }
    match expired {
        Some(end) if in_grace => Verdict {
            valid: true,
            code: Code::Valid,
            updates: true,
            detail: format!(
                "the licence expired at {} and is in its grace period until {}",
                end.to_rfc3339(),
                (end + policy.grace).to_rfc3339()
            ),
        },
        Some(end) => Verdict {
            valid: true,
            code: Code::Expired,
            updates: policy.expiry == Expiry::KeepUsing,
            detail: match policy.expiry {
                Expiry::KeepInstalled => format!(
                    "the licence expired at {}: what is installed keeps working, without updates",
                    end.to_rfc3339()
                ),
                _ => format!(
                    "the licence expired at {}; its policy keeps it working",
                    end.to_rfc3339()
                ),
            },
        },
        None => Verdict {
            valid: true,
            code: Code::Valid,
            updates: true,
            detail: "the licence is valid".to_owned(),
        },
    }
}

/// Why one more box may not be activated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivationRefused {
    /// As many boxes as the policy allows hold it.
    TooManyDevices { max: u32 },
    /// Node-locked, and another box holds it.
    NodeLocked,
    /// The day's activations are spent.
    TooManyToday { max: u32 },
}

impl std::fmt::Display for ActivationRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooManyDevices { max } => {
                write!(
                    f,
                    "the licence is already activated on {max} boxes, its limit"
                )
            }
            Self::NodeLocked => f.write_str("the licence is locked to another box"),
            Self::TooManyToday { max } => write!(
                f,
                "the licence was activated {max} times in the last 24 hours, its limit; \
                 try again later"
            ),
        }
    }
}

/// Whether one more box may be activated, with `active` boxes holding the
/// licence now and `last_day` activations made in the last 24 hours.
pub fn may_activate(policy: &Policy, active: u32, last_day: u32) -> Result<(), ActivationRefused> {
    if !policy.floating && active >= 1 {
        return Err(ActivationRefused::NodeLocked);
    }
    if active >= policy.max_boxes {
        return Err(ActivationRefused::TooManyDevices {
            max: policy.max_boxes,
        });
    }
    if last_day >= policy.max_activations_per_day {
        return Err(ActivationRefused::TooManyToday {
            max: policy.max_activations_per_day,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + h * 3600, 0).expect("time")
    }

    fn policy(expiry: Expiry) -> Policy {
        Policy {
            duration: Some(Duration::days(30)),
            expiry,
            grace: Duration::hours(48),
            max_boxes: 5,
            floating: true,
            max_activations_per_day: 10,
            entitlements: ["hevc".to_owned()].into(),
        }
    }

    fn licence(holder: Holder) -> Licence {
        Licence {
            product: "codec-ddp".into(),
            holder,
            state: LicenceState::Active,
            expires_at: Some(at(100)),
            entitlements: ["atmos".to_owned()].into(),
        }
    }

    fn scope(device: Uuid, subscriber: Option<Uuid>, activated: bool) -> Scope {
        Scope {
            product: Some("codec-ddp".into()),
            device: Some(ScopeDevice {
                id: device,
                subscriber,
                activated,
            }),
            entitlements: vec!["hevc".into(), "atmos".into()],
        }
    }

    #[test]
    fn a_subscribers_licence_is_valid_on_their_activated_box_only() {
        let (sub, stb, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let l = licence(Holder::Subscriber(sub));
        let p = policy(Expiry::Stop);
        let v = validate(&l, &p, at(1), &scope(stb, Some(sub), true));
        assert_eq!((v.valid, v.code, v.updates), (true, Code::Valid, true));
        let v = validate(&l, &p, at(1), &scope(stb, Some(other), true));
        assert_eq!((v.valid, v.code), (false, Code::DeviceMismatch));
        let v = validate(&l, &p, at(1), &scope(stb, Some(sub), false));
        assert_eq!((v.valid, v.code), (false, Code::NotActivated));
        let mut s = scope(stb, Some(sub), true);
        s.product = Some("drm-playready-sl3000".into());
        assert_eq!(validate(&l, &p, at(1), &s).code, Code::ProductMismatch);
        s = scope(stb, Some(sub), true);
        s.entitlements.push("dts".into());
        let v = validate(&l, &p, at(1), &s);
        assert_eq!(v.code, Code::EntitlementsMissing);
        assert!(v.detail.contains("dts"), "{}", v.detail);
    }

    #[test]
    fn a_box_licence_is_that_boxs() {
        let (stb, other) = (Uuid::now_v7(), Uuid::now_v7());
        let l = licence(Holder::Device(stb));
        let p = policy(Expiry::Stop);
        assert_eq!(
            validate(&l, &p, at(1), &scope(stb, None, true)).code,
            Code::Valid
        );
        assert_eq!(
            validate(&l, &p, at(1), &scope(other, None, true)).code,
            Code::DeviceMismatch
        );
    }

    #[test]
    fn expiry_follows_the_policy_after_the_grace_period() {
        let stb = Uuid::now_v7();
        let l = licence(Holder::Device(stb));
        let s = scope(stb, None, true);
        // In the grace period, every policy still counts it valid.
        for e in [Expiry::Stop, Expiry::KeepInstalled, Expiry::KeepUsing] {
            let v = validate(&l, &policy(e), at(120), &s);
            assert_eq!(
                (v.valid, v.code, v.updates),
                (true, Code::Valid, true),
                "{e}"
            );
            assert!(v.detail.contains("grace"), "{}", v.detail);
        }
        let after = at(100 + 48);
        let v = validate(&l, &policy(Expiry::Stop), after, &s);
        assert_eq!((v.valid, v.code, v.updates), (false, Code::Expired, false));
        let v = validate(&l, &policy(Expiry::KeepInstalled), after, &s);
        assert_eq!((v.valid, v.code, v.updates), (true, Code::Expired, false));
        let v = validate(&l, &policy(Expiry::KeepUsing), after, &s);
        assert_eq!((v.valid, v.code, v.updates), (true, Code::Expired, true));
    }

    #[test]
    fn codes_read_as_serialised() {
        for c in [
            Code::Valid,
            Code::NotFound,
            Code::Expired,
            Code::Suspended,
            Code::Revoked,
            Code::TooManyDevices,
            Code::NotActivated,
            Code::EntitlementsMissing,
            Code::ProductMismatch,
            Code::DeviceMismatch,
        ] {
            assert_eq!(serde_json::to_value(c).ok(), Some(c.as_str().into()));
        }
    }

    #[test]
    fn a_box_may_use_it_until_expiry_and_grace_only_when_the_policy_stops_it() {
        let l = licence(Holder::Device(Uuid::now_v7()));
        assert_eq!(use_until(&l, &policy(Expiry::Stop)), Some(at(100 + 48)));
        assert_eq!(use_until(&l, &policy(Expiry::KeepInstalled)), None);
        assert_eq!(use_until(&l, &policy(Expiry::KeepUsing)), None);
        let forever = Licence {
            expires_at: None,
            ..l
        };
        assert_eq!(use_until(&forever, &policy(Expiry::Stop)), None);
    }

    #[test]
    fn the_operators_state_comes_first() {
        let stb = Uuid::now_v7();
        let mut l = licence(Holder::Device(stb));
        l.state = LicenceState::Revoked;
        let late = at(1000);
        let p = policy(Expiry::Stop);
        assert_eq!(
            validate(&l, &p, late, &scope(stb, None, true)).code,
            Code::Revoked
        );
        l.state = LicenceState::Suspended;
        assert_eq!(
            validate(&l, &p, at(1), &scope(Uuid::now_v7(), None, false)).code,
            Code::Suspended
        );
    }

    #[test]
    fn a_licence_without_an_end_never_expires() {
        let p = Policy {
            duration: None,
            ..policy(Expiry::Stop)
        };
        assert_eq!(expires_at(&p, at(0), None), None);
        assert_eq!(
            expires_at(&policy(Expiry::Stop), at(0), None),
            Some(at(720))
        );
        assert_eq!(expires_at(&p, at(0), Some(at(5))), Some(at(5)));
    }

    #[test]
    fn activations_hold_to_the_box_limit_the_lock_and_the_daily_rate() {
        let p = policy(Expiry::Stop);
        assert_eq!(may_activate(&p, 4, 0), Ok(()));
        assert_eq!(
            may_activate(&p, 5, 0),
            Err(ActivationRefused::TooManyDevices { max: 5 })
        );
        assert_eq!(
            may_activate(&p, 0, 10),
            Err(ActivationRefused::TooManyToday { max: 10 })
        );
        let locked = Policy {
            floating: false,
            max_boxes: 1,
            ..p
        };
        assert_eq!(may_activate(&locked, 0, 0), Ok(()));
        assert_eq!(
            may_activate(&locked, 1, 0),
            Err(ActivationRefused::NodeLocked)
        );
    }

    #[test]
    fn words_round_trip() {
        for e in [Expiry::Stop, Expiry::KeepInstalled, Expiry::KeepUsing] {
            assert_eq!(e.as_str().parse::<Expiry>(), Ok(e));
        }
        for s in [
            LicenceState::Active,
            LicenceState::Suspended,
            LicenceState::Revoked,
        ] {
            assert_eq!(s.as_str().parse::<LicenceState>(), Ok(s));
        }
        assert_eq!(
            serde_json::to_string(&Code::TooManyDevices).expect("json"),
            "\"TOO_MANY_DEVICES\""
        );
    }
}
