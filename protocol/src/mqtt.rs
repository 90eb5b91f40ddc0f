//! The MQTT side of the device protocol: topic names and the nudge message.
//!
//! Every topic lives under `wavecast/v1/devices/{device_id}/`:
//!
//! | topic        | who publishes | payload                                   |
//! |--------------|---------------|-------------------------------------------|
//! | `nudge`      | the server    | [`Nudge`]: check in now                   |
//! | `status`     | the box       | a [`crate::status::StatusReport`]          |
//! | `telemetry`  | the box       | a JSON object of health readings          |
//! | `faults`     | the box       | a JSON object describing a fault          |
//!
//! A box connects with its device id as both client id and user name and its
//! credential (`wcd_…`) as password, and may publish and subscribe only under
//! its own prefix. MQTT only ever hurries things along: a nudge carries no
//! offer (the box checks in over HTTPS and verifies the signed answer), and
//! everything a box publishes it could also send over HTTPS.

use serde::{Deserialize, Serialize};

/// The prefix of every device topic.
pub const DEVICES_PREFIX: &str = "wavecast/v1/devices/";

/// What a device topic is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Server to box: check in now.
    Nudge,
    /// Box to server: install status reports.
    Status,
    /// Box to server: health readings, an `events::EventBatch` (JSON) as
    /// `POST /api/v1/device/events` takes it.
    Telemetry,
    /// Box to server: faults, an `events::EventBatch` likewise.
    Faults,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Self::Nudge, Self::Status, Self::Telemetry, Self::Faults];
    /// The channels a box publishes on.
    pub const FROM_DEVICE: [Channel; 3] = [Self::Status, Self::Telemetry, Self::Faults];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nudge => "nudge",
            Self::Status => "status",
            Self::Telemetry => "telemetry",
            Self::Faults => "faults",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// The topic of `channel` for one device.
pub fn topic(device_id: &str, channel: Channel) -> String {
    format!("{DEVICES_PREFIX}{device_id}/{}", channel.as_str())
}

/// Splits a concrete device topic into device id and channel; `None` for
/// anything else (including wildcards and empty ids).
pub fn parse_topic(topic: &str) -> Option<(&str, Channel)> {
    let rest = topic.strip_prefix(DEVICES_PREFIX)?;
    let (id, channel) = rest.split_once('/')?;
    if id.is_empty() || id.contains(['+', '#', '/']) {
        return None;
    }
    Some((id, Channel::parse(channel)?))
}

/// Why the server nudged a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NudgeReason {
    /// A rollout opened a wave the box is in.
    WaveOpened,
    /// An operator asked the box to check in.
    Operator,
    /// A reason this agent does not know yet: check in all the same.
    #[serde(other)]
    Other,
}

/// The message on a box's `nudge` topic. It is only a hint: the box checks
/// in over HTTPS and trusts nothing but the signed answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Nudge {
    pub reason: NudgeReason,
    /// The rollout concerned, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_id: Option<String>,
    /// Unix seconds when the server sent it.
    pub sent_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip() {
        for c in Channel::ALL {
            let t = topic("0190-ab", c);
            assert_eq!(parse_topic(&t), Some(("0190-ab", c)));
        }
        assert_eq!(
            topic("d1", Channel::Status),
            "wavecast/v1/devices/d1/status"
        );
    }

    #[test]
    fn anything_else_is_not_a_device_topic() {
        for t in [
            "wavecast/v1/devices//status",
            "wavecast/v1/devices/+/status",
            "wavecast/v1/devices/#",
            "wavecast/v1/devices/d1/status/extra",
            "wavecast/v1/devices/d1/reboot",
            "wavecast/v2/devices/d1/status",
            "other/d1/status",
        ] {
            assert_eq!(parse_topic(t), None, "{t}");
        }
    }

    #[test]
    fn unknown_nudge_reasons_still_nudge() {
        let n: Nudge =
            serde_json::from_str(r#"{"reason":"something_new","sent_at":1}"#).expect("parse");
        assert_eq!(n.reason, NudgeReason::Other);
    }
}
