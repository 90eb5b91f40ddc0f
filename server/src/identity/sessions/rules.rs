//! Console sessions as pure rules: idle and absolute expiry, when to write
//! the last activity, the cookie's name and attributes, the origin check
//! every unsafe request passes, the CSRF token comparison, and when failed
//! sign-ins throttle further attempts.

use chrono::{DateTime, TimeDelta, Utc};
use subtle::ConstantTimeEq;

/// How long a session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Ends after this long without a request.
    pub idle: TimeDelta,
    /// Ends this long after sign-in, whatever the activity.
    pub absolute: TimeDelta,
}

/// Why a session no longer works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Signed out, or ended by a password change or the user's disabling.
    Ended,
    /// Idle too long.
    Idle,
    /// Past its absolute lifetime.
    Expired,
}

impl Ended {
    /// What the sign-in page says.
    pub fn describe(self) -> &'static str {
        match self {
            Ended::Ended => "you were signed out",
            Ended::Idle => "your session ended after a while without activity",
            Ended::Expired => "your session reached its time limit",
        }
    }
}

/// Whether a session last seen at `last_seen`, ending at `expires_at`, and
/// `ended` or not, still works at `now`.
pub fn alive(
    last_seen: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    ended: bool,
    idle: TimeDelta,
    now: DateTime<Utc>,
) -> Result<(), Ended> {
    if ended {
        Err(Ended::Ended)
    } else if now >= expires_at {
        Err(Ended::Expired)
    } else if now - last_seen >= idle {
        Err(Ended::Idle)
    } else {
        Ok(())
    }
}

/// Whether the last activity is old enough to write again (at most once a
/// minute, so that a page's polling does not write on every request).
pub fn touch_due(last_seen: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - last_seen >= TimeDelta::minutes(1)
}

/// The session cookie's name: under HTTPS the `__Host-` prefix, which
/// browsers accept only for a `Secure` cookie of this host, path `/`.
pub fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-wavecast-session"
    } else {
        "wavecast-session"
    }
}

/// Whether an unsafe request comes from the console's own pages: the
/// browser's `Sec-Fetch-Site` says `same-origin`, or, from a browser that
/// does not send it, `Origin` names this host. A request with neither (not
/// from a browser) still needs the CSRF token.
pub fn same_origin(sec_fetch_site: Option<&str>, origin: Option<&str>, host: Option<&str>) -> bool {
    match (sec_fetch_site, origin) {
        (Some(site), _) => site == "same-origin",
        (None, Some(origin)) => {
            let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            host.is_some_and(|h| h.eq_ignore_ascii_case(authority))
        }
        (None, None) => true,
    }
}

/// Whether the CSRF token sent matches the session's (in constant time).
pub fn csrf_matches(expected: &str, sent: &str) -> bool {
    !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(sent.as_bytes()))
}

/// Whether `failures` recent failed sign-ins for one user or address stop
/// the next attempt.
pub fn throttled(failures: u64, limit: u32) -> bool {
    failures >= u64::from(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + min * 60, 0).expect("time")
    }

    #[test]
    fn a_session_ends_idle_at_its_limit_or_when_ended() {
        let idle = TimeDelta::minutes(30);
        assert_eq!(alive(t(0), t(600), false, idle, t(29)), Ok(()));
        assert_eq!(alive(t(0), t(600), false, idle, t(30)), Err(Ended::Idle));
        assert_eq!(
            alive(t(590), t(600), false, idle, t(600)),
            Err(Ended::Expired)
        );
        assert_eq!(alive(t(0), t(600), true, idle, t(1)), Err(Ended::Ended));
        assert!(!touch_due(t(0), t(0) + TimeDelta::seconds(59)));
        assert!(touch_due(t(0), t(1)));
    }

    #[test]
    fn only_the_consoles_own_pages_may_post() {
        assert!(same_origin(Some("same-origin"), None, Some("a:1")));
        assert!(!same_origin(
            Some("cross-site"),
            Some("http://a:1"),
            Some("a:1")
        ));
        assert!(!same_origin(Some("same-site"), None, Some("a:1")));
        assert!(same_origin(None, Some("http://a:1"), Some("a:1")));
        assert!(!same_origin(None, Some("http://evil:1"), Some("a:1")));
        assert!(
            same_origin(None, None, Some("a:1")),
            "not a browser: the token decides"
        );
    }

    #[test]
    fn tokens_compare_whole_and_throttling_counts() {
        assert!(csrf_matches("abc", "abc"));
        assert!(!csrf_matches("abc", "abd"));
        assert!(!csrf_matches("abc", "ab"));
        assert!(!csrf_matches("", ""), "no token is never a match");
        assert!(!throttled(4, 5));
        assert!(throttled(5, 5));
        assert_eq!(cookie_name(true), "__Host-wavecast-session");
    }
}
