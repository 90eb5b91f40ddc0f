//! SLA clocks: when a ticket's first response or resolution is due, given
//! the policy's calendar (around the clock, or business hours in a time
//! zone with holidays) and the times the clock was paused (waiting on the
//! customer). Pure functions of the time; the edge stores tickets and
//! pauses and asks.
//!
//! Time counts only inside the calendar's working hours and outside
//! pauses. Working hours are local: a business day that is 23 or 25 hours
//! long (daylight saving) counts what the wall clock says, and a local time
//! that does not exist (the hour skipped in spring) opens at the first
//! instant after the gap.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Days searched for working time before a deadline is called unreachable.
const HORIZON_DAYS: i64 = 3 * 366;

/// A calendar as a policy writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CalendarSpec {
    /// Every hour of every day.
    Always,
    /// Opening hours per weekday in an IANA time zone, with holidays.
    BusinessHours {
        timezone: String,
        /// `"mon"` … `"sun"` → `["09:00", "18:00"]` (`"24:00"` closes at
        /// midnight); days left out are closed.
        hours: std::collections::BTreeMap<String, [String; 2]>,
        #[serde(default)]
        holidays: Vec<NaiveDate>,
    },
}

/// Opening hours of one weekday: from `open` until `close`, or until the
/// next midnight when `close` is `None`.
type Hours = Option<(NaiveTime, Option<NaiveTime>)>;

/// An interval of time, `[start, end)`; endless when `end` is `None`.
type Span = (DateTime<Utc>, Option<DateTime<Utc>>);

/// A checked calendar.
#[derive(Debug, Clone, PartialEq)]
pub enum Calendar {
    Always,
    BusinessHours {
        tz: Tz,
        /// Monday first.
        week: [Hours; 7],
        holidays: BTreeSet<NaiveDate>,
    },
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl CalendarSpec {
    /// Checks the calendar: a known time zone, known days, opening before
    /// closing, and at least one working day.
    pub fn parse(&self) -> Result<Calendar, String> {
        let Self::BusinessHours {
            timezone,
            hours,
            holidays,
        } = self
        else {
            return Ok(Calendar::Always);
        };
        let tz: Tz = timezone
            .parse()
            .map_err(|_| format!("{timezone:?} is not an IANA time zone"))?;
        let mut week: [Hours; 7] = [None; 7];
        for (day, [open, close]) in hours {
            let i = DAYS.iter().position(|d| d == day).ok_or_else(|| {
                format!("{day:?} is not a day; use mon, tue, wed, thu, fri, sat, sun")
            })?;
            let time = |s: &str| {
                NaiveTime::parse_from_str(s, "%H:%M")
                    .map_err(|_| format!("{day}: {s:?} is not a time of day (HH:MM)"))
            };
            let open = time(open)?;
            let close = if close == "24:00" {
                None
            } else {
                Some(time(close)?)
            };
            if close.is_some_and(|c| c <= open) {
                return Err(format!("{day}: the day must open before it closes"));
            }
            week[i] = Some((open, close));
        }
        if week.iter().all(Option::is_none) {
            return Err("business hours need at least one working day".into());
        }
        Ok(Calendar::BusinessHours {
            tz,
            week,
            holidays: holidays.iter().copied().collect(),
        })
    }
}

/// The instant a local time names: the earlier of two in the repeated
/// autumn hour, the first after the gap in the skipped spring hour.
fn instant(tz: Tz, date: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
    let local = date.and_time(t);
    match tz.from_local_datetime(&local) {
        LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => x.with_timezone(&Utc),
        // Gaps are at most a few hours: the offset from before the gap,
        // applied to the same wall-clock time, lands just after it.
        LocalResult::None => {
            let before = tz
                .from_local_datetime(&(local - Duration::hours(3)))
                .earliest()
                .map_or(local.and_utc(), |x| x.with_timezone(&Utc));
            before + Duration::hours(3)
        }
    }
}

impl Calendar {
    /// The working intervals from `from` on, in order, clipped to start at
    /// `from`; `None` as an end means "forever".
    fn working(&self, from: DateTime<Utc>) -> Box<dyn Iterator<Item = Span> + '_> {
        match self {
            Self::Always => Box::new(std::iter::once((from, None))),
            Self::BusinessHours { tz, week, holidays } => {
                let tz = *tz;
                let first = from.with_timezone(&tz).date_naive() - Duration::days(1);
                Box::new(
                    (0..HORIZON_DAYS)
                        .filter_map(move |n| {
                            let date = first + Duration::days(n);
                            if holidays.contains(&date) {
                                return None;
                            }
                            let (open, close) =
                                week[date.weekday().num_days_from_monday() as usize]?;
                            let a = instant(tz, date, open);
                            let b = match close {
                                Some(c) => instant(tz, date, c),
                                None => instant(tz, date + Duration::days(1), NaiveTime::MIN),
                            };
                            Some((a, b))
                        })
                        .filter(move |(_, b)| *b > from)
                        .map(move |(a, b)| (a.max(from), Some(b))),
                )
            }
        }
    }
}

/// A time the clock stood still: `[from, to)`, still running when `to` is
/// `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub from: DateTime<Utc>,
    pub to: Option<DateTime<Utc>>,
}

/// The parts of `[a, b)` outside every pause (pauses sorted by start).
fn unpaused(a: DateTime<Utc>, b: Option<DateTime<Utc>>, pauses: &[Pause]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut cursor = a;
    for p in pauses {
        if b.is_some_and(|b| p.from >= b) {
            break;
        }
        if p.to.is_some_and(|t| t <= cursor) {
            continue;
        }
        if p.from > cursor {
            out.push((cursor, Some(p.from)));
        }
        match p.to {
            Some(t) => cursor = cursor.max(t),
            None => return out,
        }
        if b.is_some_and(|b| cursor >= b) {
            return out;
        }
    }
    out.push((cursor, b));
    out
}

fn sorted(pauses: &[Pause]) -> Vec<Pause> {
    let mut p = pauses.to_vec();
    p.sort_by_key(|p| p.from);
    p
}

/// When `target` of working, unpaused time after `start` has passed; `None`
/// while a pause without end stops the clock first, or when the calendar
/// has no working time within three years.
pub fn deadline(
    cal: &Calendar,
    start: DateTime<Utc>,
    target: Duration,
    pauses: &[Pause],
) -> Option<DateTime<Utc>> {
    let pauses = sorted(pauses);
    let mut left = target;
    for (a, b) in cal.working(start) {
        for (x, y) in unpaused(a, b, &pauses) {
            match y {
                Some(y) if y - x < left => left -= y - x,
                _ => return Some(x + left),
            }
        }
        // An endless pause inside this interval stops the clock for good.
        if pauses
            .iter()
            .any(|p| p.to.is_none() && b.is_none_or(|b| p.from < b))
        {
            return None;
        }
    }
    None
}

/// Working, unpaused time between `start` and `now`.
pub fn elapsed(
    cal: &Calendar,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    pauses: &[Pause],
) -> Duration {
    let pauses = sorted(pauses);
    let mut total = Duration::zero();
    for (a, b) in cal.working(start) {
        if a >= now {
            break;
        }
        let b = b.map_or(now, |b| b.min(now));
        for (x, y) in unpaused(a, Some(b), &pauses) {
            total += y.unwrap_or(b) - x;
        }
    }
    total
}

/// Where a target stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaState {
    /// Due then; not yet near.
    OnTrack { due: DateTime<Utc> },
    /// Due then, and `warn_pct` of the time has passed.
    Warning { due: DateTime<Utc> },
    /// Past due since then.
    Breached { due: DateTime<Utc> },
    /// The clock is stopped (waiting on the customer).
    Paused,
}

/// The state of a target of `target` started at `start`, warning once
/// `warn_pct` percent of it has passed.
pub fn state(
    cal: &Calendar,
    start: DateTime<Utc>,
    target: Duration,
    pauses: &[Pause],
    now: DateTime<Utc>,
    warn_pct: u8,
) -> SlaState {
    let Some(due) = deadline(cal, start, target, pauses) else {
        return SlaState::Paused;
    };
    if now >= due {
        return SlaState::Breached { due };
    }
    let warn = target * i32::from(warn_pct.min(100)) / 100;
    if elapsed(cal, start, now, pauses) >= warn {
        SlaState::Warning { due }
    } else {
        SlaState::OnTrack { due }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("rfc3339")
            .with_timezone(&Utc)
    }

    fn office(tz: &str, holidays: &[&str]) -> Calendar {
        let day = |d: &str| (d.to_owned(), ["09:00".to_owned(), "18:00".to_owned()]);
        CalendarSpec::BusinessHours {
            timezone: tz.into(),
            hours: ["mon", "tue", "wed", "thu", "fri"].map(day).into(),
            holidays: holidays.iter().map(|d| d.parse().expect("date")).collect(),
        }
        .parse()
        .expect("valid")
    }

    fn all_day(tz: &str) -> Calendar {
        let day = |d: &str| (d.to_owned(), ["00:00".to_owned(), "24:00".to_owned()]);
        CalendarSpec::BusinessHours {
            timezone: tz.into(),
            hours: DAYS.map(day).into(),
            holidays: vec![],
        }
        .parse()
        .expect("valid")
    }

    fn h(n: i64) -> Duration {
        Duration::hours(n)
    }

    #[test]
    fn around_the_clock_counts_every_minute_but_pauses() {
        let start = utc("2026-11-20T10:00:00Z");
        assert_eq!(
            deadline(&Calendar::Always, start, h(1), &[]),
            Some(utc("2026-11-20T11:00:00Z"))
        );
        let pause = Pause {
            from: utc("2026-11-20T10:20:00Z"),
            to: Some(utc("2026-11-20T10:50:00Z")),
        };
        assert_eq!(
            deadline(&Calendar::Always, start, h(1), &[pause]),
            Some(utc("2026-11-20T11:30:00Z"))
        );
        assert_eq!(
            elapsed(
                &Calendar::Always,
                start,
                utc("2026-11-20T11:00:00Z"),
                &[pause]
            ),
            Duration::minutes(30)
        );
    }

    #[test]
    fn business_hours_skip_nights_and_weekends() {
        let paris = office("Europe/Paris", &[]);
        // Friday 17:00 in Paris (16:00 UTC), 4 working hours: 1 on Friday,
        // 3 on Monday from 09:00 → Monday 12:00 Paris.
        assert_eq!(
            deadline(&paris, utc("2026-11-20T16:00:00Z"), h(4), &[]),
            Some(utc("2026-11-23T11:00:00Z"))
        );
        // Opened on Saturday: the clock starts Monday 09:00.
        assert_eq!(
            deadline(&paris, utc("2026-11-21T10:00:00Z"), h(1), &[]),
            Some(utc("2026-11-23T09:00:00Z"))
        );
        // Opened at night: from 09:00 the next morning.
        assert_eq!(
            deadline(&paris, utc("2026-11-24T21:30:00Z"), h(2), &[]),
            Some(utc("2026-11-25T10:00:00Z"))
        );
        // Exactly at closing time: the next day's first hour.
        assert_eq!(
            deadline(&paris, utc("2026-11-24T17:00:00Z"), h(1), &[]),
            Some(utc("2026-11-25T09:00:00Z"))
        );
    }

    #[test]
    fn holidays_are_closed_days() {
        // Monday 2026-12-28 and Friday 2027-01-01 off.
        let paris = office("Europe/Paris", &["2026-12-28", "2027-01-01"]);
        // Friday 2026-12-25 is not a holiday here; 17:00 + 4 h → Tuesday 12:00.
        assert_eq!(
            deadline(&paris, utc("2026-12-25T16:00:00Z"), h(4), &[]),
            Some(utc("2026-12-29T11:00:00Z"))
        );
        // A resolution target of 3 days of 9 hours across New Year: from
        // Thursday 31 Dec 09:00, 9 h that day, Friday 1 Jan off, the
        // weekend closed, 9 h Monday and 9 h Tuesday → Tuesday 18:00 Paris.
        assert_eq!(
            deadline(&paris, utc("2026-12-31T08:00:00Z"), h(27), &[]),
            Some(utc("2027-01-05T17:00:00Z"))
        );
    }

    #[test]
    fn one_instant_three_time_zones() {
        // Monday 2026-11-23 15:00 UTC: 10:00 in New York (open), 00:00
        // Tuesday in Tokyo (closed), 16:00 in Paris (2 h left).
        let at = utc("2026-11-23T15:00:00Z");
        assert_eq!(
            deadline(&office("America/New_York", &[]), at, h(3), &[]),
            Some(utc("2026-11-23T18:00:00Z"))
        );
        assert_eq!(
            deadline(&office("Asia/Tokyo", &[]), at, h(3), &[]),
            Some(utc("2026-11-24T03:00:00Z")) // Tuesday 12:00 Tokyo
        );
        assert_eq!(
            deadline(&office("Europe/Paris", &[]), at, h(3), &[]),
            Some(utc("2026-11-24T09:00:00Z")) // Tuesday 10:00 Paris
        );
    }

    #[test]
    fn daylight_saving_days_are_as_long_as_the_wall_clock_says() {
        let paris = all_day("Europe/Paris");
        // Spring forward on Sunday 2026-03-29 (02:00 → 03:00): a day of 23
        // hours, all of them working time. 24 working hours from Saturday
        // 12:00 CET (11:00 UTC) end Sunday 13:00 CEST (11:00 UTC): the hour
        // the clocks skip was never there to count.
        assert_eq!(
            deadline(&paris, utc("2026-03-28T11:00:00Z"), h(24), &[]),
            Some(utc("2026-03-29T11:00:00Z"))
        );
        // Fall back on Sunday 2026-10-25 (03:00 → 02:00): 25 hours.
        assert_eq!(
            deadline(&paris, utc("2026-10-24T10:00:00Z"), h(24), &[]),
            Some(utc("2026-10-25T10:00:00Z"))
        );
        // Business hours keep their local times across the change: Friday
        // 17:00 CET (16:00 UTC) + 2 h → Monday 10:00 CEST (08:00 UTC).
        assert_eq!(
            deadline(
                &office("Europe/Paris", &[]),
                utc("2026-03-27T16:00:00Z"),
                h(2),
                &[]
            ),
            Some(utc("2026-03-30T08:00:00Z"))
        );
    }

    #[test]
    fn a_holiday_weekend_and_a_pause_add_up() {
        // New York, Thursday 2026-12-24 16:00 EST (21:00 UTC), 8 working
        // hours: 2 on Thursday; Friday the 25th is a holiday; the weekend is
        // closed; Monday the 28th 09:00–12:00 is paused (waiting on the
        // customer); so 6 more from Monday 12:00: due Monday 18:00 EST,
        // 23:00 UTC.
        let ny = office("America/New_York", &["2026-12-25"]);
        let start = utc("2026-12-24T21:00:00Z");
        assert_eq!(
            deadline(&ny, start, h(8), &[]),
            Some(utc("2026-12-28T20:00:00Z"))
        );
        let pause = Pause {
            from: utc("2026-12-28T14:00:00Z"),
            to: Some(utc("2026-12-28T17:00:00Z")),
        };
        assert_eq!(
            deadline(&ny, start, h(8), &[pause]),
            Some(utc("2026-12-28T23:00:00Z"))
        );
        // Elapsed agrees: at Monday 12:00 EST, 2 hours counted.
        assert_eq!(
            elapsed(&ny, start, utc("2026-12-28T17:00:00Z"), &[pause]),
            h(2)
        );
        // A pause over closed time changes nothing.
        let weekend = Pause {
            from: utc("2026-12-26T10:00:00Z"),
            to: Some(utc("2026-12-27T22:00:00Z")),
        };
        assert_eq!(
            deadline(&ny, start, h(8), &[weekend]),
            Some(utc("2026-12-28T20:00:00Z"))
        );
    }

    #[test]
    fn southern_hemisphere_daylight_saving() {
        // Sydney leaves daylight saving on Sunday 2026-04-05 (03:00 AEDT →
        // 02:00 AEST). Friday 2026-04-03 17:00 AEDT (06:00 UTC) + 2 working
        // hours → Monday 10:00 AEST (00:00 UTC).
        let syd = office("Australia/Sydney", &[]);
        assert_eq!(
            deadline(&syd, utc("2026-04-03T06:00:00Z"), h(2), &[]),
            Some(utc("2026-04-06T00:00:00Z"))
        );
    }

    #[test]
    fn a_skipped_local_hour_opens_after_the_gap() {
        // Opening at 02:30 on the spring-forward Sunday: that time does not
        // exist in Paris; the day opens at 03:30 CEST (01:30 UTC).
        let cal = CalendarSpec::BusinessHours {
            timezone: "Europe/Paris".into(),
            hours: [("sun".to_owned(), ["02:30".to_owned(), "04:00".to_owned()])].into(),
            holidays: vec![],
        }
        .parse()
        .expect("valid");
        assert_eq!(
            deadline(
                &cal,
                utc("2026-03-28T12:00:00Z"),
                Duration::minutes(10),
                &[]
            ),
            Some(utc("2026-03-29T01:40:00Z"))
        );
    }

    #[test]
    fn pauses_stop_the_clock_only_in_working_hours() {
        let paris = office("Europe/Paris", &[]);
        let start = utc("2026-11-23T08:00:00Z"); // Monday 09:00 Paris
                                                 // Waiting on the customer overnight costs nothing.
        let night = Pause {
            from: utc("2026-11-23T18:00:00Z"),
            to: Some(utc("2026-11-24T07:00:00Z")),
        };
        assert_eq!(
            deadline(&paris, start, h(10), &[night]),
            deadline(&paris, start, h(10), &[])
        );
        // Two working hours waiting push the deadline by two working hours.
        let day = Pause {
            from: utc("2026-11-23T09:00:00Z"),
            to: Some(utc("2026-11-23T11:00:00Z")),
        };
        assert_eq!(
            deadline(&paris, start, h(8), &[day]),
            Some(utc("2026-11-24T09:00:00Z")) // Tuesday 10:00 Paris
        );
        // Still waiting: no deadline; overlapping pauses count once.
        let open = Pause {
            from: utc("2026-11-23T10:00:00Z"),
            to: None,
        };
        assert_eq!(deadline(&paris, start, h(8), &[day, open]), None);
        assert_eq!(
            state(
                &paris,
                start,
                h(8),
                &[open],
                utc("2026-11-30T00:00:00Z"),
                80
            ),
            SlaState::Paused
        );
        assert_eq!(
            elapsed(&paris, start, utc("2026-11-23T12:00:00Z"), &[day, open]),
            h(1)
        );
    }

    #[test]
    fn warning_then_breach() {
        let start = utc("2026-11-20T10:00:00Z");
        let at = |s: &str| state(&Calendar::Always, start, h(1), &[], utc(s), 75);
        let due = utc("2026-11-20T11:00:00Z");
        assert_eq!(at("2026-11-20T10:44:00Z"), SlaState::OnTrack { due });
        assert_eq!(at("2026-11-20T10:45:00Z"), SlaState::Warning { due });
        assert_eq!(at("2026-11-20T11:00:00Z"), SlaState::Breached { due });
    }

    #[test]
    fn calendars_are_checked() {
        let spec = |tz: &str, day: &str, open: &str, close: &str| CalendarSpec::BusinessHours {
            timezone: tz.into(),
            hours: [(day.to_owned(), [open.to_owned(), close.to_owned()])].into(),
            holidays: vec![],
        };
        assert!(spec("Europe/Paris", "mon", "09:00", "18:00")
            .parse()
            .is_ok());
        for (bad, says) in [
            (spec("Mars/Olympus", "mon", "09:00", "18:00"), "IANA"),
            (spec("UTC", "monday", "09:00", "18:00"), "not a day"),
            (spec("UTC", "mon", "18:00", "09:00"), "open before"),
            (spec("UTC", "mon", "9h", "18:00"), "HH:MM"),
        ] {
            let e = bad.parse().expect_err("refused");
            assert!(e.contains(says), "{e}");
        }
        let closed = CalendarSpec::BusinessHours {
            timezone: "UTC".into(),
            hours: Default::default(),
            holidays: vec![],
        };
        assert!(closed.parse().is_err());
        let json: CalendarSpec = serde_json::from_str(
            r#"{"kind":"business_hours","timezone":"Europe/Paris","hours":{"mon":["09:00","18:00"]},"holidays":["2026-12-25"]}"#,
        )
        .expect("parses");
        assert!(json.parse().is_ok());
        assert_eq!(
            serde_json::from_str::<CalendarSpec>(r#"{"kind":"always"}"#).expect("parses"),
            CalendarSpec::Always
        );
    }
}
