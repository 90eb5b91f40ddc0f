//! When a ticket next needs attention, as stored beside it
//! (`tickets.next_due_at`, `tickets.sweep_at`) so the queue sorts and
//! filters by deadline in SQL and the SLA sweep reads only the tickets
//! falling due. Pure functions of the ticket's terms and clock: the entity
//! stamps them on every save (`platform::entities::ticket`).
//!
//! A deadline is an instant on the policy's calendar (business hours,
//! holidays, time zone) after the pauses, so it does not move while time
//! passes; it moves only when the ticket changes (a pause starts or ends,
//! a target is met, the terms change) — which is a save. The readers of a
//! ticket's stored terms and clock ([`terms_of`], [`clock_of`]) live here
//! too, so the entity reads them without reaching up into the views.

use chrono::{DateTime, Duration, Utc};

use super::rules::{SlaTerms, SlaTimes};
use crate::{
    platform::{
        error::{Error, Result},
        json::from_json,
    },
    support::sla::{self, Calendar},
};

/// The two stored times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DueTimes {
    /// The earliest due time of a target not yet met; `None` while the
    /// clock is paused or both targets are met.
    pub next_due: Option<DateTime<Utc>>,
    /// When the SLA sweep must look next: the first warning or breach it
    /// has not acted on yet; `None` when there is none to come.
    pub sweep_at: Option<DateTime<Utc>>,
}

/// What the SLA sweep has already done to a ticket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Acted {
    pub warned: bool,
    pub breached: bool,
}

/// The due times of a ticket with `terms` and `clock`, active or not, after
/// what the sweep already did. Mirrors `rules::escalation`: one warning,
/// then one breach, then nothing more for the sweep.
pub fn due_times(
    terms: &SlaTerms,
    cal: &Calendar,
    clock: &SlaTimes,
    active: bool,
    acted: Acted,
) -> DueTimes {
    if !active {
        return DueTimes::default();
    }
    let targets = [
        (
            terms.first_response_secs,
            clock.first_response_at.or(clock.resolved_at),
        ),
        (terms.resolution_secs, clock.resolved_at),
    ];
    let mut out = DueTimes::default();
    for (secs, done) in targets {
        if done.is_some() {
            continue;
        }
        let target = Duration::seconds(secs);
        let Some(due) = sla::deadline(cal, clock.opened_at, target, &clock.pauses) else {
            continue;
        };
        out.next_due = earliest(out.next_due, Some(due));
        if acted.breached {
            continue;
        }
        let look = if acted.warned {
            Some(due)
        } else {
            let warn = target * i32::from(terms.warn_pct.min(100)) / 100;
            sla::deadline(cal, clock.opened_at, warn, &clock.pauses)
        };
        out.sweep_at = earliest(out.sweep_at, look);
    }
    out
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The terms a ticket's `sla` column holds, with their calendar.
pub fn terms_of(sla: &serde_json::Value) -> Result<(SlaTerms, Calendar)> {
    let terms: SlaTerms = from_json(sla, "ticket SLA terms")?;
    let cal = terms
        .calendar
        .parse()
        .map_err(|e| Error::corrupt("ticket SLA calendar", e))?;
    Ok((terms, cal))
}

/// The SLA clock from a ticket's stored times and pauses (a row's, or a
/// save's about to be written): closing without resolving stops it too.
pub fn clock_of(
    opened_at: DateTime<Utc>,
    first_response_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    pauses: &serde_json::Value,
) -> Result<SlaTimes> {
    Ok(SlaTimes {
        opened_at,
        first_response_at,
        resolved_at: resolved_at.or(closed_at),
        pauses: from_json(pauses, "ticket pauses")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::{
        sla::{CalendarSpec, Pause},
        tickets::rules::{escalation, sla_view, Escalation},
    };

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("rfc3339")
            .with_timezone(&Utc)
    }

    fn terms(calendar: CalendarSpec) -> SlaTerms {
        SlaTerms {
            first_response_secs: 3600,
            resolution_secs: 8 * 3600,
            calendar,
            warn_pct: 75,
            escalate_to: None,
        }
    }

    fn clock(opened: &str) -> SlaTimes {
        SlaTimes {
            opened_at: utc(opened),
            ..SlaTimes::default()
        }
    }

    fn always() -> (SlaTerms, Calendar) {
        let t = terms(CalendarSpec::Always);
        let c = t.calendar.parse().expect("calendar");
        (t, c)
    }

    #[test]
    fn a_new_ticket_is_next_due_at_its_first_response_and_swept_at_its_warning() {
        let (t, c) = always();
        let d = due_times(
            &t,
            &c,
            &clock("2026-12-01T10:00:00Z"),
            true,
            Acted::default(),
        );
        assert_eq!(d.next_due, Some(utc("2026-12-01T11:00:00Z")));
        assert_eq!(d.sweep_at, Some(utc("2026-12-01T10:45:00Z")));
    }

    #[test]
    fn once_warned_the_sweep_looks_again_at_the_breach_and_never_after_it() {
        let (t, c) = always();
        let k = clock("2026-12-01T10:00:00Z");
        let warned = Acted {
            warned: true,
            breached: false,
        };
        let d = due_times(&t, &c, &k, true, warned);
        assert_eq!(d.sweep_at, Some(utc("2026-12-01T11:00:00Z")));
        let breached = Acted {
            warned: true,
            breached: true,
        };
        let d = due_times(&t, &c, &k, true, breached);
        assert_eq!(d.sweep_at, None);
        assert_eq!(d.next_due, Some(utc("2026-12-01T11:00:00Z")));
    }

    #[test]
    fn an_answered_ticket_is_next_due_at_its_resolution() {
        let (t, c) = always();
        let mut k = clock("2026-12-01T10:00:00Z");
        k.first_response_at = Some(utc("2026-12-01T10:10:00Z"));
        let d = due_times(&t, &c, &k, true, Acted::default());
        assert_eq!(d.next_due, Some(utc("2026-12-01T18:00:00Z")));
        assert_eq!(d.sweep_at, Some(utc("2026-12-01T16:00:00Z")));
    }

    #[test]
    fn a_paused_or_finished_ticket_is_due_at_no_time() {
        let (t, c) = always();
        let mut k = clock("2026-12-01T10:00:00Z");
        k.pauses = vec![Pause {
            from: utc("2026-12-01T10:05:00Z"),
            to: None,
        }];
        assert_eq!(
            due_times(&t, &c, &k, true, Acted::default()),
            DueTimes::default()
        );
        let k = clock("2026-12-01T10:00:00Z");
        assert_eq!(
            due_times(&t, &c, &k, false, Acted::default()),
            DueTimes::default()
        );
    }

    #[test]
    fn business_hours_and_holidays_move_the_deadline() {
        let day = |d: &str| (d.to_owned(), ["09:00".to_owned(), "18:00".to_owned()]);
        let t = terms(CalendarSpec::BusinessHours {
            timezone: "Europe/Berlin".into(),
            hours: ["mon", "tue", "wed", "thu", "fri"].map(day).into(),
            holidays: vec!["2026-12-25".parse().expect("date")],
        });
        let c = t.calendar.parse().expect("calendar");
        // Thursday 24 December, 17:30 in Berlin: half an hour left that day,
        // Friday is a holiday, so the rest runs on Monday from 09:00.
        let k = clock("2026-12-24T16:30:00Z");
        let d = due_times(&t, &c, &k, true, Acted::default());
        assert_eq!(d.next_due, Some(utc("2026-12-28T08:30:00Z")));
    }

    #[test]
    fn the_sweep_time_is_when_the_escalation_rule_first_calls_for_action() {
        let (t, c) = always();
        let k = clock("2026-12-01T10:00:00Z");
        let d = due_times(&t, &c, &k, true, Acted::default());
        let at = d.sweep_at.expect("sweep time");
        let before = sla_view(&t, &c, &k, at - Duration::seconds(1));
        assert_eq!(escalation(&before, false, false), None);
        let then = sla_view(&t, &c, &k, at);
        assert_eq!(escalation(&then, false, false), Some(Escalation::Warn));
    }
}
