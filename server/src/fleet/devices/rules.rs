//! A box's standing with the server as pure rules: its status, what an
//! operator may do to it (accept, reject, decommission), and what an
//! enrolment does given what the server knows of the serial.
//!
//! ```text
//! (enrol) → pending → accepted ⇄ (accept again: no change)
//!              └────→ rejected
//! any ──decommission──→ decommissioned (final)
//! ```

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// Where a device stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceStatus {
    /// Enrolled, waiting for an operator.
    Pending,
    /// May check in and receive updates.
    Accepted,
    /// Refused by an operator; its enrolments stay refused.
    Rejected,
    /// Retired (returned, replaced, scrapped); never served again.
    Decommissioned,
}

impl DeviceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Decommissioned => "decommissioned",
        }
    }
}

/// What a box runs to talk to us.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Client {
    /// Our agent: signed check-ins, bundles verified against the keyring.
    #[default]
    Agent,
    /// A hawkBit DDI client (SWUpdate's suricatta, rauc-hawkbit-updater),
    /// which verifies images with its own mechanism.
    Ddi,
}

impl Client {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Ddi => "ddi",
        }
    }
}

impl FromStr for Client {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "agent" => Ok(Self::Agent),
            "ddi" => Ok(Self::Ddi),
            other => Err(format!("unknown client {other:?} (agent, ddi)")),
        }
    }
}

impl fmt::Display for DeviceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeviceStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            Self::Pending,
            Self::Accepted,
            Self::Rejected,
            Self::Decommissioned,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
        .ok_or_else(|| format!("unknown device status {s:?}"))
    }
}

/// What an operator asks of a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceAction {
    Accept,
    Reject,
    Decommission,
}

impl FromStr for DeviceAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "accept" => Ok(Self::Accept),
            "reject" => Ok(Self::Reject),
            "decommission" => Ok(Self::Decommission),
            other => Err(format!(
                "no device action {other:?}; use accept, reject or decommission"
            )),
        }
    }
}

impl DeviceStatus {
    /// The status after `action`, or why it is not allowed. Accepting an
    /// accepted box or rejecting a rejected one changes nothing.
    pub fn apply(self, action: DeviceAction) -> Result<DeviceStatus, String> {
        use DeviceAction as A;
        use DeviceStatus as S;
        match (action, self) {
            (A::Accept, S::Pending | S::Accepted) => Ok(S::Accepted),
            (A::Reject, S::Pending | S::Rejected) => Ok(S::Rejected),
            (A::Decommission, _) => Ok(S::Decommissioned),
            (A::Accept, from) => Err(format!(
                "the device is {from}; only pending devices can be accepted"
            )),
            (A::Reject, from) => Err(format!(
                "the device is {from}; only pending devices can be rejected"
            )),
        }
    }

    /// The audit log's name for a change to this status.
    pub fn audit_action(self) -> &'static str {
        match self {
            Self::Accepted => "device.accept",
            Self::Rejected => "device.reject",
            Self::Pending | Self::Decommissioned => "device.decommission",
        }
    }
}

/// The outcome of an enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrolment {
    /// A new device, accepted at once (pre-authorised serial) or pending.
    Create(DeviceStatus),
    /// A known, accepted device proved its key: issue a fresh credential.
    IssueCredential,
    /// A known device still waiting for an operator (or pre-authorised since).
    Pending { now_preauthorized: bool },
    /// Refused, with the reason (answered as 403).
    Refused(String),
    /// The serial is taken by another key (answered as 409).
    KeyMismatch,
}

/// Decides an enrolment. `known`: the device's status and key if the serial
/// is known; `claimed_key`: the key that signed the claim.
pub fn decide(
    known: Option<(DeviceStatus, &str)>,
    claimed_key: &str,
    preauthorized: bool,
) -> Enrolment {
    let Some((status, key)) = known else {
        return Enrolment::Create(if preauthorized {
            DeviceStatus::Accepted
        } else {
            DeviceStatus::Pending
        });
    };
    if key != claimed_key {
        return Enrolment::KeyMismatch;
    }
    match status {
        DeviceStatus::Accepted => Enrolment::IssueCredential,
        DeviceStatus::Pending => Enrolment::Pending {
            now_preauthorized: preauthorized,
        },
        DeviceStatus::Rejected => Enrolment::Refused("an operator rejected this device".into()),
        DeviceStatus::Decommissioned => {
            Enrolment::Refused("this device has been decommissioned".into())
        }
    }
}

/// A serial, model or hardware revision, as a box or a manufacturing list
/// names it: 1 to `max` ASCII letters, digits and `- _ . :`, starting with
/// a letter or a digit. Nothing a path, a URL, a shell or an MQTT topic
/// could read as structure (`/`, `..` at the start, spaces, `+`, `#`).
pub fn identifier(field: &str, raw: &str, max: usize) -> Result<(), String> {
    let fine = |c: char| c.is_ascii_alphanumeric() || "-_.:".contains(c);
    let starts_well = raw.starts_with(|c: char| c.is_ascii_alphanumeric());
    if raw.is_empty() || raw.len() > max || !starts_well || !raw.chars().all(fine) {
        return Err(format!(
            "{field} {raw:?}: 1 to {max} ASCII letters, digits and - _ . :, \
             starting with a letter or a digit"
        ));
    }
    Ok(())
}

/// A box's time zone, as its check-in reports it: an IANA name such as
/// `Europe/Paris` (maintenance windows are reckoned in it).
pub fn time_zone(raw: &str) -> Result<(), String> {
    raw.parse::<chrono_tz::Tz>().map(|_| ()).map_err(|_| {
        format!("timezone {raw:?} is not an IANA time zone name (such as Europe/Paris or UTC)")
    })
}

/// Most tags a box may carry.
pub const MAX_TAGS: usize = 32;

/// A region as an operator writes it, checked: 1 to 64 characters, no
/// control characters; surrounding spaces dropped.
pub fn region(raw: &str) -> Result<String, String> {
    let r = raw.trim();
    if r.is_empty() || r.chars().count() > 64 || r.chars().any(char::is_control) {
        return Err(format!(
            "region {raw:?}: 1 to 64 characters, no control characters"
        ));
    }
    Ok(r.to_owned())
}

/// Tags as an operator writes them, checked and put in order, each once:
/// 1 to 64 of letters, digits and `-_.:`, at most [`MAX_TAGS`].
pub fn tags(raw: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for t in raw {
        let t = t.trim();
        let fine = |c: char| c.is_alphanumeric() || "-_.:".contains(c);
        if t.is_empty() || t.chars().count() > 64 || !t.chars().all(fine) {
            return Err(format!(
                "tag {t:?}: 1 to 64 letters, digits and - _ . : (no spaces)"
            ));
        }
        out.push(t.to_owned());
    }
    out.sort();
    out.dedup();
    if out.len() > MAX_TAGS {
        return Err(format!(
            "{} tags: a box carries at most {MAX_TAGS}",
            out.len()
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{decide, DeviceAction as A, DeviceStatus as S, Enrolment as E};

    #[test]
    fn regions_and_tags_are_checked_and_tags_kept_in_order_once() {
        assert_eq!(super::region("  north "), Ok("north".to_owned()));
        assert!(super::region(" ").is_err());
        assert!(super::region(&"x".repeat(65)).is_err());
        let t = |v: &[&str]| super::tags(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(
            t(&["vip", "lab", "vip"]),
            Ok(vec!["lab".to_owned(), "vip".to_owned()])
        );
        assert!(t(&["two words"])
            .expect_err("a space")
            .contains("no spaces"));
        assert!(t(&[""]).is_err());
        let many: Vec<String> = (0..33).map(|i| format!("t{i}")).collect();
        assert!(super::tags(&many)
            .expect_err("33 tags")
            .contains("at most 32"));
    }

    #[test]
    fn identifiers_and_time_zones_are_checked_at_the_edge() {
        use super::{identifier, time_zone};
        for fine in ["SN-1", "STB_0001.a:b", "X1", "9"] {
            assert!(identifier("serial", fine, 128).is_ok(), "{fine}");
        }
        for bad in [
            "",
            "../../etc/passwd",
            ".hidden",
            "-rf",
            "a/b",
            "a b",
            "sn+1",
            "sn#",
            "s\u{e9}rie",
            "SN\n",
        ] {
            assert!(identifier("serial", bad, 128).is_err(), "{bad:?}");
        }
        assert!(identifier("model", &"M".repeat(65), 64).is_err());
        assert!(time_zone("Europe/Paris").is_ok());
        assert!(time_zone("UTC").is_ok());
        for bad in [
            "../../etc/localtime",
            "Mars/Olympus",
            "",
            "Europe/Paris\u{0}",
        ] {
            assert!(time_zone(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn operators_accept_reject_and_decommission() {
        assert_eq!(S::Pending.apply(A::Accept), Ok(S::Accepted));
        assert_eq!(S::Accepted.apply(A::Accept), Ok(S::Accepted));
        assert_eq!(S::Pending.apply(A::Reject), Ok(S::Rejected));
        for s in [S::Pending, S::Accepted, S::Rejected, S::Decommissioned] {
            assert_eq!(s.apply(A::Decommission), Ok(S::Decommissioned));
        }
        let e = S::Decommissioned.apply(A::Accept).expect_err("final");
        assert!(e.contains("only pending devices can be accepted"), "{e}");
        assert!(S::Accepted.apply(A::Reject).is_err());
        assert!("retire".parse::<A>().is_err());
    }

    #[test]
    fn new_devices_wait_unless_preauthorized() {
        assert_eq!(decide(None, "k", false), E::Create(S::Pending));
        assert_eq!(decide(None, "k", true), E::Create(S::Accepted));
    }

    #[test]
    fn known_devices_by_status() {
        assert_eq!(
            decide(Some((S::Accepted, "k")), "k", false),
            E::IssueCredential
        );
        assert_eq!(
            decide(Some((S::Pending, "k")), "k", true),
            E::Pending {
                now_preauthorized: true
            }
        );
        assert!(matches!(
            decide(Some((S::Rejected, "k")), "k", true),
            E::Refused(_)
        ));
        assert!(matches!(
            decide(Some((S::Decommissioned, "k")), "k", false),
            E::Refused(_)
        ));
    }

    #[test]
    fn another_key_for_a_known_serial_is_a_clone() {
        assert_eq!(
            decide(Some((S::Accepted, "k")), "other", false),
            E::KeyMismatch
        );
        assert_eq!(
            decide(Some((S::Pending, "k")), "other", true),
            E::KeyMismatch
        );
    }
}
