//! hawkBit DDI's rules, free of I/O: where an action stands, what a
//! client's feedback means for the install it reports on, how a poll's
//! sleep is written, and which controller ids and attribute sets are
//! acceptable.
//!
//! ```text
//! (offered) → open ──closed+success|none──→ finished
//!               ├───closed+failure────────→ failed
//!               └───canceled (or the cancel acknowledged)──→ cancelled
//! ```
//! Feedback on an action that is no longer open is answered 410 Gone.

use std::{collections::BTreeMap, fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use wavecast_protocol::status::InstallState;

/// Where a DDI action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ActionState {
    /// Offered; the client has not closed it.
    Open,
    /// The client reported success.
    Finished,
    /// The client reported failure.
    Failed,
    /// The client cancelled it (the rollout was aborted).
    Cancelled,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Finished => "finished",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn is_open(self) -> bool {
        self == Self::Open
    }
}

impl fmt::Display for ActionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActionState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [Self::Open, Self::Finished, Self::Failed, Self::Cancelled]
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("unknown action state {s:?}"))
    }
}

/// A feedback body, in the current shape and the older one SWUpdate sends
/// (`id` and `time` beside `status`): fields we do not use are ignored.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct Feedback {
    pub status: FeedbackStatus,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct FeedbackStatus {
    pub execution: Execution,
    pub result: FeedbackResult,
    /// Free-text lines (installer output).
    #[serde(default)]
    pub details: Vec<String>,
    /// A client-specific status code.
    #[serde(default)]
    pub code: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct FeedbackResult {
    pub finished: Finished,
    #[serde(default)]
    pub progress: Option<Progress>,
}

/// Progress as `cnt` of `of` steps.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
pub struct Progress {
    pub cnt: u64,
    #[serde(default)]
    pub of: Option<u64>,
}

/// `status.execution`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Execution {
    Closed,
    Proceeding,
    Canceled,
    Scheduled,
    Rejected,
    Resumed,
    Downloaded,
    Download,
}

/// `status.result.finished`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Finished {
    Success,
    Failure,
    None,
}

/// What a feedback means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reaction {
    /// An install status for the box's rollout status row, and the state
    /// the action ends in, if it ends.
    Report {
        state: InstallState,
        progress: Option<u8>,
        ends: Option<ActionState>,
    },
    /// The action ends without an install status (a cancel).
    End(ActionState),
    /// Noted, nothing changes (`rejected`: the box declines for now).
    Nothing,
}

/// Feedback on a deployment, as hawkBit maps it: closed+failure is an
/// error, closed+success (or none) finished, proceeding / scheduled /
/// resumed / download running, downloaded downloaded, canceled cancelled,
/// rejected a warning that changes nothing.
pub fn on_deployment(status: &FeedbackStatus) -> Reaction {
    let progress = status.result.progress.and_then(percent);
    match (status.execution, status.result.finished) {
        (Execution::Closed, Finished::Failure) => Reaction::Report {
            state: InstallState::Failed,
            progress: None,
            ends: Some(ActionState::Failed),
        },
        (Execution::Closed, _) => Reaction::Report {
            state: InstallState::Succeeded,
            progress: Some(100),
            ends: Some(ActionState::Finished),
        },
        (Execution::Canceled, _) => Reaction::End(ActionState::Cancelled),
        (Execution::Downloaded, _) => Reaction::Report {
            state: InstallState::Downloaded,
            progress: None,
            ends: None,
        },
        (Execution::Rejected, _) => Reaction::Nothing,
        (
            Execution::Proceeding | Execution::Scheduled | Execution::Resumed | Execution::Download,
            _,
        ) => Reaction::Report {
            state: InstallState::Downloading,
            progress,
            ends: None,
        },
    }
}

/// Feedback on a cancel: acknowledged (closed+success, or canceled) ends
/// the action as cancelled; a failed or rejected cancel leaves it open.
pub fn on_cancel(status: &FeedbackStatus) -> Reaction {
    match (status.execution, status.result.finished) {
        (Execution::Closed, Finished::Success | Finished::None) | (Execution::Canceled, _) => {
            Reaction::End(ActionState::Cancelled)
        }
        _ => Reaction::Nothing,
    }
}

/// `cnt` of `of` as a percentage, when `of` says how many there are.
fn percent(p: Progress) -> Option<u8> {
    let of = p.of.filter(|of| *of > 0)?;
    Some((p.cnt.min(of) * 100 / of) as u8)
}

/// The feedback's detail lines as one message, at most `max` characters.
pub fn message_of(status: &FeedbackStatus, max: usize) -> Option<String> {
    let joined = status
        .details
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let clean: String = joined
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .take(max)
        .collect();
    (!clean.is_empty()).then_some(clean)
}

/// A poll's `config.polling.sleep`: `HH:MM:SS`, at most a day less a second.
pub fn sleep_of(secs: u64) -> String {
    let s = secs.clamp(1, 86_399);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A controller id: 1 to 64 letters, digits, `.`, `_`, `-` or `:`.
pub fn controller_id(id: &str) -> Result<&str, String> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'));
    if ok {
        Ok(id)
    } else {
        Err(format!(
            "controller id {id:?} must be 1 to 64 letters, digits, '.', '_', '-' or ':'"
        ))
    }
}

/// How `configData` combines with the attributes already stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Merge,
    Replace,
    Remove,
}

/// Attributes a box may keep: at most 64, keys up to 128 and values up to
/// 512 characters, no control characters.
pub fn check_attributes(data: &BTreeMap<String, String>) -> Result<(), String> {
    if data.is_empty() {
        return Err("configData needs at least one attribute in data".into());
    }
    if data.len() > 64 {
        return Err("at most 64 attributes".into());
    }
    for (k, v) in data {
        if k.trim().is_empty() || k.chars().count() > 128 || v.chars().count() > 512 {
            return Err(format!(
                "attribute {k:?}: keys are 1 to 128 and values at most 512 characters"
            ));
        }
        if k.chars().chain(v.chars()).any(char::is_control) {
            return Err(format!("attribute {k:?} holds control characters"));
        }
    }
    Ok(())
}

/// The attributes after `mode` applied `data` to `stored`.
pub fn combine(
    mut stored: BTreeMap<String, String>,
    data: BTreeMap<String, String>,
    mode: Mode,
) -> BTreeMap<String, String> {
    match mode {
        Mode::Merge => {
            stored.extend(data);
            stored
        }
        Mode::Replace => data,
        Mode::Remove => {
            for k in data.keys() {
                stored.remove(k);
            }
            stored
        }
    }
}

/// The attribute names that set a box's model and hardware revision.
pub const MODEL_KEYS: [&str; 2] = ["model", "hw_model"];
pub const REVISION_KEYS: [&str; 3] = ["hardware_revision", "hw_revision", "revision"];

/// The first of `keys` present in `attributes`.
pub fn attribute<'a>(attributes: &'a BTreeMap<String, String>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| attributes.get(*k))
        .map(String::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: &str) -> FeedbackStatus {
        serde_json::from_str::<Feedback>(json)
            .expect("test value")
            .status
    }

    #[test]
    fn both_feedback_shapes_parse_and_unknown_fields_are_ignored() {
        // SWUpdate 2022.12's shape: `id` as an integer and a local `time`.
        let old = status(
            r#"{"id":8,"time":"20261130T192506","status":{"result":{"progress":{"cnt":2,"of":4},
               "finished":"none"},"execution":"proceeding","details":["Installing"]}}"#,
        );
        assert_eq!(
            on_deployment(&old),
            Reaction::Report {
                state: InstallState::Downloading,
                progress: Some(50),
                ends: None
            }
        );
        let current = status(
            r#"{"timestamp":1700000000000,"status":{"execution":"closed","result":
               {"finished":"success"},"code":200,"details":[]},"extra":{"x":1}}"#,
        );
        assert_eq!(
            on_deployment(&current),
            Reaction::Report {
                state: InstallState::Succeeded,
                progress: Some(100),
                ends: Some(ActionState::Finished)
            }
        );
    }

    #[test]
    fn feedback_maps_as_hawkbit_maps_it() {
        let s = |e: &str, f: &str| {
            status(&format!(
                r#"{{"status":{{"execution":"{e}","result":{{"finished":"{f}"}}}}}}"#
            ))
        };
        assert!(matches!(
            on_deployment(&s("closed", "failure")),
            Reaction::Report {
                state: InstallState::Failed,
                ends: Some(ActionState::Failed),
                ..
            }
        ));
        assert!(matches!(
            on_deployment(&s("closed", "none")),
            Reaction::Report {
                ends: Some(ActionState::Finished),
                ..
            }
        ));
        assert!(matches!(
            on_deployment(&s("downloaded", "none")),
            Reaction::Report {
                state: InstallState::Downloaded,
                ends: None,
                ..
            }
        ));
        assert_eq!(
            on_deployment(&s("canceled", "none")),
            Reaction::End(ActionState::Cancelled)
        );
        assert_eq!(on_deployment(&s("rejected", "none")), Reaction::Nothing);
        assert_eq!(
            on_cancel(&s("closed", "success")),
            Reaction::End(ActionState::Cancelled)
        );
        assert_eq!(on_cancel(&s("rejected", "none")), Reaction::Nothing);
        assert_eq!(on_cancel(&s("closed", "failure")), Reaction::Nothing);
        assert!(serde_json::from_str::<Feedback>(r#"{"status":{"execution":"bogus"}}"#).is_err());
    }

    #[test]
    fn progress_without_a_total_is_no_percentage() {
        assert_eq!(percent(Progress { cnt: 3, of: None }), None);
        assert_eq!(
            percent(Progress {
                cnt: 3,
                of: Some(0)
            }),
            None
        );
        assert_eq!(
            percent(Progress {
                cnt: 9,
                of: Some(4)
            }),
            Some(100)
        );
    }

    #[test]
    fn sleep_is_written_as_hawkbit_clients_read_it() {
        assert_eq!(sleep_of(300), "00:05:00");
        assert_eq!(sleep_of(3661), "01:01:01");
        assert_eq!(sleep_of(0), "00:00:01");
        assert_eq!(sleep_of(1_000_000), "23:59:59");
    }

    #[test]
    fn controller_ids_and_attributes_are_checked() {
        assert!(controller_id("stb-0001").is_ok());
        assert!(controller_id("aa:bb:cc:dd:ee:ff").is_ok());
        assert!(controller_id("").is_err());
        assert!(controller_id("a/b").is_err());
        assert!(controller_id(&"x".repeat(65)).is_err());
        let one = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        assert!(check_attributes(&one("model", "stb")).is_ok());
        assert!(check_attributes(&BTreeMap::new()).is_err());
        assert!(check_attributes(&one("model", "a\u{7}b")).is_err());
        assert!(check_attributes(&one(" ", "x")).is_err());
    }

    #[test]
    fn config_data_modes_merge_replace_and_remove() {
        let m = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let stored = m(&[("model", "stb"), ("mac", "aa")]);
        assert_eq!(
            combine(stored.clone(), m(&[("mac", "bb")]), Mode::Merge),
            m(&[("model", "stb"), ("mac", "bb")])
        );
        assert_eq!(
            combine(stored.clone(), m(&[("mac", "bb")]), Mode::Replace),
            m(&[("mac", "bb")])
        );
        assert_eq!(
            combine(stored, m(&[("mac", "")]), Mode::Remove),
            m(&[("model", "stb")])
        );
        let attrs = m(&[("hw_revision", " 1.0 "), ("model", "")]);
        assert_eq!(attribute(&attrs, &REVISION_KEYS), Some("1.0"));
        assert_eq!(attribute(&attrs, &MODEL_KEYS), None);
    }
}
