//! The install status a device reports for a rollout, and which reports are
//! accepted. Reports are idempotent and safe out of order: a repeat or an
//! older report changes nothing; an impossible one is refused.
//!
//! ```text
//! downloading → downloaded → installing → rebooting → succeeded
//!       └───────────┴────────────┴────────────┴──────→ failed
//!                   installing / rebooting ──────────→ rolled_back
//! ```

pub use wavecast_protocol::status::InstallState;

/// What to do with a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Record the new state.
    Advance(InstallState),
    /// A repeat or an older report: answer success, change nothing.
    Ignore,
}

/// Decides on a report `next` given the recorded state (`None`: no report yet).
pub fn accept(current: Option<InstallState>, next: InstallState) -> Result<Accept, String> {
    let Some(cur) = current else {
        return match next {
            InstallState::RolledBack => {
                Err("rolled_back needs an install in progress; none was reported".into())
            }
            s => Ok(Accept::Advance(s)),
        };
    };
    if cur == next {
        return Ok(Accept::Ignore);
    }
    if cur.is_terminal() {
        return if next.is_terminal() {
            Err(format!(
                "the install already ended as {}; it cannot become {}",
                cur.as_str(),
                next.as_str()
            ))
        } else {
            Ok(Accept::Ignore) // a late, older report
        };
    }
    if next.rank() < cur.rank() {
        return Ok(Accept::Ignore);
    }
    if next == InstallState::RolledBack && cur.rank() < InstallState::Installing.rank() {
        return Err(format!(
            "cannot roll back from {}: nothing was installed",
            cur.as_str()
        ));
    }
    Ok(Accept::Advance(next))
}

#[cfg(test)]
mod tests {
    use super::{accept, Accept, InstallState as S};

    #[test]
    fn the_happy_path_advances() {
        let mut cur = None;
        for s in [
            S::Downloading,
            S::Downloaded,
            S::Installing,
            S::Rebooting,
            S::Succeeded,
        ] {
            assert_eq!(accept(cur, s), Ok(Accept::Advance(s)));
            cur = Some(s);
        }
    }

    #[test]
    fn repeats_and_late_reports_change_nothing() {
        assert_eq!(
            accept(Some(S::Installing), S::Installing),
            Ok(Accept::Ignore)
        );
        assert_eq!(
            accept(Some(S::Installing), S::Downloading),
            Ok(Accept::Ignore)
        );
        assert_eq!(accept(Some(S::Succeeded), S::Rebooting), Ok(Accept::Ignore));
        assert_eq!(accept(Some(S::Failed), S::Failed), Ok(Accept::Ignore));
    }

    #[test]
    fn lost_reports_may_be_skipped() {
        assert_eq!(
            accept(None, S::Succeeded),
            Ok(Accept::Advance(S::Succeeded))
        );
        assert_eq!(
            accept(Some(S::Downloading), S::Rebooting),
            Ok(Accept::Advance(S::Rebooting))
        );
    }

    #[test]
    fn impossible_transitions_are_refused() {
        assert!(accept(Some(S::Succeeded), S::Failed).is_err());
        assert!(accept(Some(S::Failed), S::Succeeded).is_err());
        assert!(accept(Some(S::RolledBack), S::Succeeded).is_err());
        assert!(accept(Some(S::Downloading), S::RolledBack).is_err());
        assert!(accept(None, S::RolledBack).is_err());
        assert_eq!(
            accept(Some(S::Rebooting), S::RolledBack),
            Ok(Accept::Advance(S::RolledBack))
        );
    }
}
