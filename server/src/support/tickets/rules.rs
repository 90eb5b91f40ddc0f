//! After-sales ticket rules: which ticket a fault opens (warranty, paid
//! repair or support), when a box's faults cross the catalog's ticket
//! policy, what a repeat does to the ticket already open (count, reopen),
//! the priority a plan and a severity give, who gets the ticket (the VIP's
//! dedicated agent, else round-robin among agents on shift), which status
//! changes are allowed, where the SLA targets stand and when that calls for
//! a warning or an escalation, and when a satisfaction survey may go out.
//! Pure functions; `support::tickets::store` stores and asks.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Months, Utc};
use semver::Version;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wavecast_protocol::checkin::Component;

use crate::{
    fleet::{
        catalog::rules::{FaultClass, Severity, TicketPolicy},
        problems::rules::reopens,
    },
    support::sla::{self, Calendar, CalendarSpec, Pause, SlaState},
};

/// What a ticket is about, which also names its queue.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum TicketKind {
    /// Hardware fault in warranty: repair or replace (RMA).
    Warranty,
    /// Hardware fault out of warranty: paid repair, on a quote.
    Repair,
    /// Software or network fault, or a question.
    Support,
}

/// Where a ticket is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    New,
    Open,
    /// Waiting on the customer: the SLA clock stands still.
    Pending,
    Resolved,
    Closed,
}

/// How urgent a ticket is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

/// Where a ticket came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The box's own fault reports.
    Device,
    Phone,
    Email,
    Chat,
    /// The operator's mobile app (subscriber API).
    App,
    Social,
    /// The self-care portal (subscriber API).
    Portal,
}

/// What an entry of a ticket's log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    Opened,
    Assigned,
    Status,
    Priority,
    Comment,
    /// The fault came again (one counter per ticket, not one entry each).
    Occurrence,
    Reopened,
    SlaWarning,
    Escalated,
    SurveySent,
    SurveyAnswer,
    Quote,
    QuoteAnswer,
    Rma,
    /// Plan, SLA targets, priority or assignee re-applied after the box
    /// changed subscriber or the subscriber changed plan or agent.
    Rerouted,
}

crate::platform::text::text_enum!(LogKind, "log entry kind", Opened => "opened", Assigned => "assigned", Status => "status", Priority => "priority", Comment => "comment", Occurrence => "occurrence", Reopened => "reopened", SlaWarning => "sla_warning", Escalated => "escalated", SurveySent => "survey_sent", SurveyAnswer => "survey_answer", Quote => "quote", QuoteAnswer => "quote_answer", Rma => "rma", Rerouted => "rerouted");
crate::platform::text::text_enum!(TicketKind, "ticket kind", Warranty => "warranty", Repair => "repair", Support => "support");
crate::platform::text::text_enum!(TicketStatus, "ticket status", New => "new", Open => "open", Pending => "pending", Resolved => "resolved", Closed => "closed");
crate::platform::text::text_enum!(Priority, "priority", Low => "low", Normal => "normal", High => "high", Urgent => "urgent");
crate::platform::text::text_enum!(Channel, "channel", Device => "device", Phone => "phone", Email => "email", Chat => "chat", App => "app", Social => "social", Portal => "portal");

impl TicketKind {
    pub const ALL: [TicketKind; 3] = [Self::Warranty, Self::Repair, Self::Support];
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 5] = [
        Self::New,
        Self::Open,
        Self::Pending,
        Self::Resolved,
        Self::Closed,
    ];

    /// Whether support still owes the ticket work (its SLA runs).
    pub fn is_active(self) -> bool {
        matches!(self, Self::New | Self::Open | Self::Pending)
    }
}

impl Priority {
    const ORDER: [Priority; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    /// One step more urgent (urgent stays urgent).
    pub fn bump(self) -> Priority {
        let i = Self::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        Self::ORDER[(i + 1).min(Self::ORDER.len() - 1)]
    }
}

/// A box's warranty at some instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Warranty {
    /// Covered until then.
    Covered { until: DateTime<Utc> },
    /// Ran out then.
    Expired { since: DateTime<Utc> },
    /// Voided (physical damage, tampering…), whatever the dates say.
    Void { reason: String },
    /// No activation date, or no warranty period for the model.
    Unknown,
}

impl Warranty {
    /// The warranty in words.
    pub fn describe(&self) -> String {
        let day = |t: &DateTime<Utc>| t.format("%Y-%m-%d").to_string();
        match self {
            Warranty::Covered { until } => format!("covered until {}", day(until)),
            Warranty::Expired { since } => format!("expired {}", day(since)),
            Warranty::Void { reason } => format!("void: {reason}"),
            Warranty::Unknown => "unknown (no activation date or no period for the model)".into(),
        }
    }
}

/// The warranty of a box activated at `activated_at`, of a model with a
/// warranty of `months`, voided with `void` if set, at `at`. The period
/// ends on the same day of the month `months` later (the last day of a
/// shorter month).
pub fn warranty(
    activated_at: Option<DateTime<Utc>>,
    months: Option<u32>,
    void: Option<&str>,
    at: DateTime<Utc>,
) -> Warranty {
    if let Some(reason) = void {
        return Warranty::Void {
            reason: reason.to_owned(),
        };
    }
    let (Some(from), Some(months)) = (activated_at, months) else {
        return Warranty::Unknown;
    };
    let Some(until) = from.checked_add_months(Months::new(months)) else {
        return Warranty::Unknown;
    };
    if at < until {
        Warranty::Covered { until }
    } else {
        Warranty::Expired { since: until }
    }
}

/// The ticket a fault of `class` opens for a box whose warranty is `w`.
/// A hardware fault on a box whose warranty cannot be told (no activation
/// date or no period for its model) opens a warranty ticket: support checks
/// the purchase, rather than the subscriber being quoted for a repair the
/// warranty may cover.
pub fn kind_for(class: FaultClass, w: &Warranty) -> TicketKind {
    match (class, w) {
        (FaultClass::Software | FaultClass::Network, _) => TicketKind::Support,
        (FaultClass::Hardware, Warranty::Covered { .. } | Warranty::Unknown) => {
            TicketKind::Warranty
        }
        (FaultClass::Hardware, Warranty::Expired { .. } | Warranty::Void { .. }) => {
            TicketKind::Repair
        }
    }
}

/// Whether `in_window` faults of one code within the policy's window open
/// a ticket.
pub fn crosses(policy: &TicketPolicy, in_window: u64) -> bool {
    in_window >= 1 && (policy.immediate || in_window >= u64::from(policy.occurrences))
}

/// Longest dedup key (the column's size).
pub const MAX_DEDUP_KEY: usize = 400;

/// The key one box's tickets for one fault are told apart by: the code and
/// the signature the box computed (or none).
pub fn dedup_key(code: &str, signature: Option<&str>) -> String {
    let key = format!("{code}|{}", signature.unwrap_or(""));
    crate::fleet::problems::rules::truncate_key(key, MAX_DEDUP_KEY)
}

/// What a fault does to the box's ticket for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFault {
    /// No ticket yet and the policy is crossed: open one.
    Open,
    /// Count it on the ticket (open, or resolved and the fault came back on
    /// a version the fix did not claim).
    Count,
    /// The ticket was resolved and the fault came back on a newer version
    /// than the box ran then: the fix did not hold.
    Reopen,
    /// No ticket and the policy is not crossed yet.
    Wait,
}

/// What a fault from a box running `installed` does, given the status of
/// the box's ticket for it that is not closed (and the versions the box ran
/// when it was resolved), and whether the policy is crossed.
pub fn on_fault(
    existing: Option<(TicketStatus, &BTreeMap<String, Version>)>,
    installed: &[Component],
    crossed: bool,
) -> OnFault {
    match existing {
        None | Some((TicketStatus::Closed, _)) => {
            if crossed {
                OnFault::Open
            } else {
                OnFault::Wait
            }
        }
        Some((TicketStatus::Resolved, at)) if reopens(at, installed) => OnFault::Reopen,
        Some(_) => OnFault::Count,
    }
}

/// A ticket's priority from the subscriber's plan rank (basic 0 … VIP 3 by
/// default) and the fault's severity: severity sets the base (minor low,
/// major normal, critical high) and the top two plans raise it one step.
pub fn priority(plan_rank: i32, severity: Severity) -> Priority {
    let base = match severity {
        Severity::Minor => Priority::Low,
        Severity::Major => Priority::Normal,
        Severity::Critical => Priority::High,
    };
    if plan_rank >= 2 {
        base.bump()
    } else {
        base
    }
}

/// Who gets a new ticket: the subscriber's dedicated agent if there is one,
/// else the agent on shift in the queue who was given a ticket longest ago
/// (never first), ties by id: round-robin that survives restarts.
pub fn assignee(
    dedicated: Option<Uuid>,
    on_shift: &[(Uuid, Option<DateTime<Utc>>)],
) -> Option<Uuid> {
    dedicated.or_else(|| {
        on_shift
            .iter()
            .min_by_key(|(id, last)| (*last, *id))
            .map(|(id, _)| *id)
    })
}

/// Who an open ticket goes to when its subscriber, their plan or their
/// dedicated agent changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reassign {
    /// Whoever has it keeps it.
    Keep,
    To(Uuid),
    /// Back to the queue: round-robin among agents on shift.
    Queue,
}

/// The new dedicated agent takes it; a ticket that was with the old
/// dedicated agent (who is no longer) goes back to the queue; one a person
/// took or was given stays with them.
pub fn reassign(
    current: Option<Uuid>,
    old_dedicated: Option<Uuid>,
    new_dedicated: Option<Uuid>,
) -> Reassign {
    match new_dedicated {
        Some(a) if current == Some(a) => Reassign::Keep,
        Some(a) => Reassign::To(a),
        None if current.is_some() && current == old_dedicated => Reassign::Queue,
        None if current.is_none() => Reassign::Queue,
        None => Reassign::Keep,
    }
}

/// Whether a ticket may go from `from` to `to`: closed is final; a resolved
/// ticket reopens or closes; an active one moves freely.
pub fn transition(from: TicketStatus, to: TicketStatus) -> Result<(), String> {
    use TicketStatus::*;
    let ok = match from {
        Closed => false,
        Resolved => matches!(to, Open | Closed),
        New | Open | Pending => to != New && to != from,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("a {from} ticket cannot become {to}"))
    }
}

/// The SLA a ticket opened with: copied from its plan's policy for its
/// kind, so editing a policy changes tickets opened afterwards only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaTerms {
    pub first_response_secs: i64,
    pub resolution_secs: i64,
    pub calendar: CalendarSpec,
    /// Warn once this share of a target has passed.
    pub warn_pct: u8,
    /// The user a breached ticket is handed to.
    #[serde(default)]
    pub escalate_to: Option<String>,
}

/// Longest target: a year.
pub const MAX_TARGET_SECS: i64 = 366 * 24 * 3600;

impl SlaTerms {
    /// Checks the terms and their calendar.
    pub fn check(&self) -> Result<Calendar, String> {
        for (name, v) in [
            ("first_response_secs", self.first_response_secs),
            ("resolution_secs", self.resolution_secs),
        ] {
            if !(1..=MAX_TARGET_SECS).contains(&v) {
                return Err(format!("{name} must be between 1 and {MAX_TARGET_SECS}"));
            }
        }
        if self.first_response_secs > self.resolution_secs {
            return Err("first_response_secs cannot exceed resolution_secs".into());
        }
        if !(1..=100).contains(&self.warn_pct) {
            return Err("warn_pct must be between 1 and 100".into());
        }
        self.calendar.parse()
    }
}

/// Where one target stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Target {
    OnTrack {
        due: DateTime<Utc>,
    },
    Warning {
        due: DateTime<Utc>,
    },
    Breached {
        due: DateTime<Utc>,
    },
    /// Waiting on the customer.
    Paused,
    /// Done by its due time.
    Met {
        at: DateTime<Utc>,
    },
    /// Done, late.
    Missed {
        at: DateTime<Utc>,
        due: DateTime<Utc>,
    },
}

impl Target {
    fn of(
        cal: &Calendar,
        start: DateTime<Utc>,
        secs: i64,
        pauses: &[Pause],
        done: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        warn_pct: u8,
    ) -> Target {
        let target = Duration::seconds(secs);
        if let Some(at) = done {
            return match sla::deadline(cal, start, target, pauses) {
                Some(due) if at > due => Target::Missed { at, due },
                _ => Target::Met { at },
            };
        }
        match sla::state(cal, start, target, pauses, now, warn_pct) {
            SlaState::OnTrack { due } => Target::OnTrack { due },
            SlaState::Warning { due } => Target::Warning { due },
            SlaState::Breached { due } => Target::Breached { due },
            SlaState::Paused => Target::Paused,
        }
    }

    /// When it is due, when that is known.
    pub fn due(&self) -> Option<DateTime<Utc>> {
        match *self {
            Target::OnTrack { due }
            | Target::Warning { due }
            | Target::Breached { due }
            | Target::Missed { due, .. } => Some(due),
            Target::Paused | Target::Met { .. } => None,
        }
    }

    /// Whether it was or is late.
    pub fn late(&self) -> bool {
        matches!(self, Target::Breached { .. } | Target::Missed { .. })
    }
}

/// Both targets of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlaView {
    pub first_response: Target,
    pub resolution: Target,
}

/// The times a ticket's SLA is judged by.
#[derive(Debug, Clone, Default)]
pub struct SlaTimes {
    pub opened_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub pauses: Vec<Pause>,
}

/// Where a ticket's targets stand at `now`.
pub fn sla_view(terms: &SlaTerms, cal: &Calendar, clock: &SlaTimes, now: DateTime<Utc>) -> SlaView {
    let t = |secs, done| {
        Target::of(
            cal,
            clock.opened_at,
            secs,
            &clock.pauses,
            done,
            now,
            terms.warn_pct,
        )
    };
    SlaView {
        // Resolving a ticket also answers it.
        first_response: t(
            terms.first_response_secs,
            clock.first_response_at.or(clock.resolved_at),
        ),
        resolution: t(terms.resolution_secs, clock.resolved_at),
    }
}

/// What the SLA sweep does to an active ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escalation {
    /// A target is near: tell the assignee (once).
    Warn,
    /// A target is past due: raise the priority, hand the ticket to the
    /// escalation contact, fire the webhook (once per breach).
    Breach,
}

/// What `view` calls for, given whether the ticket was already warned and
/// already escalated.
pub fn escalation(view: &SlaView, warned: bool, breached: bool) -> Option<Escalation> {
    let targets = [view.first_response, view.resolution];
    if !breached && targets.iter().any(|t| matches!(t, Target::Breached { .. })) {
        return Some(Escalation::Breach);
    }
    if !warned && !breached && targets.iter().any(|t| matches!(t, Target::Warning { .. })) {
        return Some(Escalation::Warn);
    }
    None
}

/// Whether the satisfaction survey of a ticket resolved at `resolved_at`
/// may go out at `now`: at once for tickets no device fault opened; for a
/// device fault only once the box has reported no fault of it for `quiet`
/// (since the later of the resolution and its last fault).
pub fn survey_due(
    device_fault: bool,
    resolved_at: DateTime<Utc>,
    last_fault_at: Option<DateTime<Utc>>,
    quiet: Duration,
    now: DateTime<Utc>,
) -> bool {
    if !device_fault {
        return true;
    }
    let since = last_fault_at.map_or(resolved_at, |f| f.max(resolved_at));
    now - since >= quiet
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &mut [i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    #[allow(clippy::cast_precision_loss)] // Seconds: far below 2^52.
    Some(if n % 2 == 1 {
        values[n / 2] as f64
    } else {
        (values[n / 2 - 1] as f64 + values[n / 2] as f64) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("rfc3339")
            .with_timezone(&Utc)
    }

    fn c(name: &str, v: &str) -> Component {
        Component {
            name: name.into(),
            version: v.parse().expect("version"),
            security_version: 0,
        }
    }

    #[test]
    fn a_changed_subscriber_moves_only_what_the_old_routing_decided() {
        let (old, new, person) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        assert_eq!(
            reassign(None, None, Some(new)),
            Reassign::To(new),
            "a VIP's agent takes it"
        );
        assert_eq!(reassign(Some(person), None, Some(new)), Reassign::To(new));
        assert_eq!(reassign(Some(new), None, Some(new)), Reassign::Keep);
        assert_eq!(
            reassign(Some(old), Some(old), None),
            Reassign::Queue,
            "the old dedicated agent hands it back"
        );
        assert_eq!(
            reassign(Some(person), Some(old), None),
            Reassign::Keep,
            "a person took it"
        );
        assert_eq!(reassign(None, None, None), Reassign::Queue);
    }

    #[test]
    fn warranty_runs_from_activation_for_the_models_months() {
        let on = utc("2025-01-31T10:00:00Z");
        let w = |at| warranty(Some(on), Some(24), None, utc(at));
        // 24 months after 31 January is the last day of January two years on.
        assert_eq!(
            w("2027-01-31T09:59:59Z"),
            Warranty::Covered {
                until: utc("2027-01-31T10:00:00Z")
            }
        );
        assert_eq!(
            w("2027-01-31T10:00:00Z"),
            Warranty::Expired {
                since: utc("2027-01-31T10:00:00Z")
            }
        );
        // A shorter month ends on its last day.
        assert_eq!(
            warranty(Some(on), Some(1), None, on),
            Warranty::Covered {
                until: utc("2025-02-28T10:00:00Z")
            }
        );
        assert_eq!(
            warranty(Some(on), Some(24), Some("liquid damage"), on),
            Warranty::Void {
                reason: "liquid damage".into()
            }
        );
        assert_eq!(warranty(None, Some(24), None, on), Warranty::Unknown);
        assert_eq!(warranty(Some(on), None, None, on), Warranty::Unknown);
    }

    #[test]
    fn hardware_faults_open_warranty_or_repair_tickets_and_the_rest_support() {
        let at = utc("2026-01-01T00:00:00Z");
        let covered = Warranty::Covered { until: at };
        let expired = Warranty::Expired { since: at };
        let void = Warranty::Void { reason: "x".into() };
        assert_eq!(
            kind_for(FaultClass::Hardware, &covered),
            TicketKind::Warranty
        );
        assert_eq!(
            kind_for(FaultClass::Hardware, &Warranty::Unknown),
            TicketKind::Warranty
        );
        assert_eq!(kind_for(FaultClass::Hardware, &expired), TicketKind::Repair);
        assert_eq!(kind_for(FaultClass::Hardware, &void), TicketKind::Repair);
        for w in [covered, expired, void, Warranty::Unknown] {
            assert_eq!(kind_for(FaultClass::Software, &w), TicketKind::Support);
            assert_eq!(kind_for(FaultClass::Network, &w), TicketKind::Support);
        }
    }

    #[test]
    fn the_policy_opens_at_its_count_or_at_once_when_immediate() {
        let p = TicketPolicy {
            occurrences: 3,
            window_hours: 24,
            immediate: false,
        };
        assert!(!crosses(&p, 0));
        assert!(!crosses(&p, 2));
        assert!(crosses(&p, 3));
        assert!(crosses(&p, 7));
        let now = TicketPolicy {
            immediate: true,
            ..p
        };
        assert!(crosses(&now, 1));
        assert!(!crosses(&now, 0));
    }

    #[test]
    fn repeats_count_and_a_newer_version_reopens() {
        let fixed_at: BTreeMap<String, Version> =
            [("x1-firmware".to_owned(), "4.2.0".parse().expect("v"))].into();
        let same = [c("x1-firmware", "4.2.0")];
        let newer = [c("x1-firmware", "4.3.0")];
        assert_eq!(on_fault(None, &same, false), OnFault::Wait);
        assert_eq!(on_fault(None, &same, true), OnFault::Open);
        for s in [TicketStatus::New, TicketStatus::Open, TicketStatus::Pending] {
            assert_eq!(on_fault(Some((s, &fixed_at)), &newer, true), OnFault::Count);
        }
        assert_eq!(
            on_fault(Some((TicketStatus::Resolved, &fixed_at)), &same, true),
            OnFault::Count
        );
        assert_eq!(
            on_fault(Some((TicketStatus::Resolved, &fixed_at)), &newer, true),
            OnFault::Reopen
        );
        assert_eq!(
            on_fault(Some((TicketStatus::Closed, &fixed_at)), &newer, true),
            OnFault::Open
        );
    }

    #[test]
    fn dedup_keys_tell_signatures_apart_and_fit_the_column() {
        assert_eq!(dedup_key("HW-HDMI-001", None), "HW-HDMI-001|");
        assert_ne!(
            dedup_key("SW-APP-102", Some("a")),
            dedup_key("SW-APP-102", Some("b"))
        );
        assert!(dedup_key("C", Some(&"é".repeat(500))).len() <= MAX_DEDUP_KEY);
    }

    #[test]
    fn priority_follows_severity_and_the_top_plans() {
        assert_eq!(priority(0, Severity::Minor), Priority::Low);
        assert_eq!(priority(1, Severity::Major), Priority::Normal);
        assert_eq!(priority(0, Severity::Critical), Priority::High);
        assert_eq!(priority(3, Severity::Major), Priority::High);
        assert_eq!(priority(3, Severity::Critical), Priority::Urgent);
        assert_eq!(Priority::Urgent.bump(), Priority::Urgent);
    }

    #[test]
    fn the_dedicated_agent_wins_else_round_robin() {
        let (a, b, vip) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(9));
        let t = utc("2026-01-01T00:00:00Z");
        assert_eq!(assignee(Some(vip), &[(a, None)]), Some(vip));
        assert_eq!(assignee(None, &[]), None);
        // Never given one goes first; then whoever waited longest.
        assert_eq!(assignee(None, &[(a, Some(t)), (b, None)]), Some(b));
        assert_eq!(
            assignee(None, &[(a, Some(t)), (b, Some(t + Duration::minutes(1)))]),
            Some(a)
        );
        assert_eq!(assignee(None, &[(b, None), (a, None)]), Some(a));
    }

    #[test]
    fn closed_is_final_and_resolved_only_reopens_or_closes() {
        use TicketStatus::*;
        assert!(transition(New, Open).is_ok());
        assert!(transition(Open, Pending).is_ok());
        assert!(transition(Pending, Resolved).is_ok());
        assert!(transition(Resolved, Open).is_ok());
        assert!(transition(Resolved, Closed).is_ok());
        assert!(transition(Resolved, Pending).is_err());
        assert!(transition(Open, New).is_err());
        assert!(transition(Open, Open).is_err());
        let e = transition(Closed, Open).expect_err("final");
        assert_eq!(e, "a closed ticket cannot become open");
    }

    fn terms(first: i64, res: i64) -> SlaTerms {
        SlaTerms {
            first_response_secs: first,
            resolution_secs: res,
            calendar: CalendarSpec::Always,
            warn_pct: 80,
            escalate_to: None,
        }
    }

    #[test]
    fn targets_warn_breach_and_record_met_or_missed() {
        let t = terms(3600, 8 * 3600);
        let cal = t.check().expect("valid");
        let opened = utc("2026-03-02T10:00:00Z");
        let clock = SlaTimes {
            opened_at: opened,
            ..SlaTimes::default()
        };
        let at = |m| opened + Duration::minutes(m);
        let v = sla_view(&t, &cal, &clock, at(10));
        assert_eq!(v.first_response, Target::OnTrack { due: at(60) });
        assert_eq!(escalation(&v, false, false), None);
        let v = sla_view(&t, &cal, &clock, at(50));
        assert_eq!(v.first_response, Target::Warning { due: at(60) });
        assert_eq!(escalation(&v, false, false), Some(Escalation::Warn));
        assert_eq!(escalation(&v, true, false), None);
        let v = sla_view(&t, &cal, &clock, at(61));
        assert_eq!(v.first_response, Target::Breached { due: at(60) });
        assert_eq!(escalation(&v, true, false), Some(Escalation::Breach));
        assert_eq!(escalation(&v, true, true), None);
        // Answered in time, resolved late.
        let done = SlaTimes {
            first_response_at: Some(at(30)),
            resolved_at: Some(at(9 * 60)),
            ..clock.clone()
        };
        let v = sla_view(&t, &cal, &done, at(600));
        assert_eq!(v.first_response, Target::Met { at: at(30) });
        assert_eq!(
            v.resolution,
            Target::Missed {
                at: at(9 * 60),
                due: at(8 * 60)
            }
        );
        // Waiting on the customer stops both clocks.
        let waiting = SlaTimes {
            pauses: vec![Pause {
                from: at(20),
                to: None,
            }],
            ..clock
        };
        let v = sla_view(&t, &cal, &waiting, at(120));
        assert_eq!(v.first_response, Target::Paused);
        assert_eq!(escalation(&v, false, false), None);
    }

    #[test]
    fn terms_are_checked() {
        assert!(terms(3600, 7200).check().is_ok());
        assert!(terms(0, 7200).check().is_err());
        assert!(terms(7200, 3600).check().is_err());
        let mut t = terms(1, 2);
        t.warn_pct = 0;
        assert!(t.check().is_err());
    }

    #[test]
    fn a_device_fault_survey_waits_for_the_fault_to_stay_away() {
        let resolved = utc("2026-03-02T10:00:00Z");
        let quiet = Duration::hours(24);
        assert!(survey_due(false, resolved, None, quiet, resolved));
        assert!(!survey_due(
            true,
            resolved,
            None,
            quiet,
            resolved + Duration::hours(23)
        ));
        assert!(survey_due(true, resolved, None, quiet, resolved + quiet));
        // A fault after the resolution restarts the wait.
        let again = resolved + Duration::hours(20);
        assert!(!survey_due(
            true,
            resolved,
            Some(again),
            quiet,
            resolved + quiet
        ));
        assert!(survey_due(
            true,
            resolved,
            Some(again),
            quiet,
            again + quiet
        ));
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5]), Some(5.0));
        assert_eq!(median(&mut [9, 1, 5]), Some(5.0));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2.5));
    }
}
