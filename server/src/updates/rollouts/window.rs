//! Maintenance windows in the box's local time: installs happen only inside
//! them. A window may cross midnight (22:00–04:00). The box's IANA time zone
//! comes from its check-in; a box that has not said falls back to UTC.

use std::fmt;

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A daily window, `start` included, `end` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
pub struct TimeWindow {
    /// `HH:MM`, the box's local time.
    #[schema(value_type = String, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "22:00")]
    pub start: NaiveTime,
    /// `HH:MM`, the box's local time (before `start`: the next day).
    #[schema(value_type = String, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "04:30")]
    pub end: NaiveTime,
}

impl TimeWindow {
    /// Parses `HH:MM`.
    pub fn parse(start: &str, end: &str) -> Result<Self, String> {
        let p = |s: &str| {
            NaiveTime::parse_from_str(s, "%H:%M")
                .map_err(|_| format!("{s:?} is not a time of day (HH:MM)"))
        };
        let w = Self {
            start: p(start)?,
            end: p(end)?,
        };
        if w.start == w.end {
            return Err("a window's start and end must differ".into());
        }
        Ok(w)
    }

    /// Whether a local time of day falls inside.
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// Whether the window is open now for a box in time zone `tz`.
    pub fn is_open(&self, tz: Option<&str>, now: DateTime<Utc>) -> bool {
        let local = match tz.and_then(|z| z.parse::<chrono_tz::Tz>().ok()) {
            Some(zone) => now.with_timezone(&zone).time(),
            None => now.time(),
        };
        self.contains(local)
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    start: String,
    end: String,
}

impl Serialize for TimeWindow {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            start: self.start.format("%H:%M").to_string(),
            end: self.end.format("%H:%M").to_string(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for TimeWindow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Wire::deserialize(d)?;
        TimeWindow::parse(&w.start, &w.end).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn same_day_and_overnight_windows() {
        let night = TimeWindow::parse("02:00", "05:00").expect("ok");
        assert!(night.contains(NaiveTime::from_hms_opt(2, 0, 0).expect("t")));
        assert!(
            !night.contains(NaiveTime::from_hms_opt(5, 0, 0).expect("t")),
            "end excluded"
        );
        let wrap = TimeWindow::parse("22:00", "04:00").expect("ok");
        assert!(wrap.contains(NaiveTime::from_hms_opt(23, 30, 0).expect("t")));
        assert!(wrap.contains(NaiveTime::from_hms_opt(3, 59, 0).expect("t")));
        assert!(!wrap.contains(NaiveTime::from_hms_opt(12, 0, 0).expect("t")));
        assert!(TimeWindow::parse("02:00", "02:00").is_err());
        assert!(TimeWindow::parse("25:00", "02:00").is_err());
    }

    #[test]
    fn local_time_decides_including_daylight_saving() {
        let w = TimeWindow::parse("02:00", "05:00").expect("ok");
        // 01:30 UTC in January is 02:30 in Paris (UTC+1): open there, closed in UTC.
        let jan = utc("2026-01-15T01:30:00Z");
        assert!(w.is_open(Some("Europe/Paris"), jan));
        assert!(!w.is_open(None, jan));
        // In July Paris is UTC+2: 01:30 UTC is 03:30 local, still open; 03:30 UTC is 05:30, closed.
        assert!(w.is_open(Some("Europe/Paris"), utc("2026-07-15T01:30:00Z")));
        assert!(!w.is_open(Some("Europe/Paris"), utc("2026-07-15T03:30:00Z")));
        // New York in winter is UTC-5: 08:00 UTC is 03:00 local.
        assert!(w.is_open(Some("America/New_York"), utc("2026-01-15T08:00:00Z")));
        // An unknown zone falls back to UTC.
        assert!(!w.is_open(Some("Mars/Olympus"), jan));
    }

    #[test]
    fn round_trips_as_hh_mm() {
        let w = TimeWindow::parse("22:00", "04:30").expect("ok");
        let json = serde_json::to_value(w).expect("ser");
        assert_eq!(
            json,
            serde_json::json!({ "start": "22:00", "end": "04:30" })
        );
        assert_eq!(serde_json::from_value::<TimeWindow>(json).expect("de"), w);
        assert!(serde_json::from_value::<TimeWindow>(
            serde_json::json!({ "start": "x", "end": "04:30" })
        )
        .is_err());
    }
}
