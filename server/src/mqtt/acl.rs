//! Who may publish and subscribe on which MQTT topic. The embedded broker
//! asks these rules for every CONNECT, PUBLISH and SUBSCRIBE; the Mosquitto
//! provisioning writes the same rules as dynamic-security roles.
//!
//! A box may publish only its own `status`, `telemetry` and `faults` and
//! subscribe only to filters inside its own prefix; the server may do
//! anything under the device prefix. Nothing may touch `$`-topics (broker
//! internals, shared subscriptions) except the server's shared subscription.

use uuid::Uuid;
use wavecast_protocol::mqtt::{parse_topic, Channel, DEVICES_PREFIX};

/// The largest MQTT packet either side takes (the embedded broker, and the
/// server's link to any broker): reports, telemetry and faults are small.
pub const MAX_PACKET: usize = 64 * 1024;

/// Who is connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    Server,
    Device(Uuid),
}

/// The user name the server connects with.
pub const SERVER_USER: &str = "wavecast-server";

/// A box must connect with its device id as client id and user name: another
/// box's client id would take over (and cut off) that box's session.
pub fn device_connect(client_id: &str, username: Option<&str>) -> Result<Uuid, String> {
    let user = username.ok_or("a box connects with its device id as user name")?;
    let id = Uuid::parse_str(user).map_err(|_| format!("user name {user:?} is not a device id"))?;
    if client_id != user {
        return Err(format!(
            "client id {client_id:?} must be the device id {user:?}"
        ));
    }
    Ok(id)
}

/// Whether `who` may publish on `topic` (a concrete topic, no wildcards).
pub fn may_publish(who: Principal, topic: &str) -> bool {
    match (who, parse_topic(topic)) {
        (Principal::Server, Some(_)) => true,
        (Principal::Device(me), Some((id, channel))) => {
            owns(me, id) && Channel::FROM_DEVICE.contains(&channel)
        }
        (_, None) => false,
    }
}

/// Whether `who` may subscribe with `filter`. A box's filter must name its
/// own id literally; the server may use any filter under the device prefix,
/// plain or as a shared subscription (`$share/GROUP/…`).
pub fn may_subscribe(who: Principal, filter: &str) -> bool {
    match who {
        Principal::Server => {
            let plain = match filter.strip_prefix("$share/") {
                Some(rest) => rest.split_once('/').map_or("", |(_, f)| f),
                None => filter,
            };
            plain.starts_with(DEVICES_PREFIX)
        }
        Principal::Device(me) => {
            let Some(rest) = filter.strip_prefix(DEVICES_PREFIX) else {
                return false;
            };
            let Some((id, tail)) = rest.split_once('/') else {
                return false;
            };
            owns(me, id) && matches!(tail, "nudge" | "+" | "#")
        }
    }
}

fn owns(me: Uuid, id: &str) -> bool {
    Uuid::parse_str(id).is_ok_and(|id| id == me) && id == me.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wavecast_protocol::mqtt::topic;

    fn ids() -> (Uuid, Uuid) {
        (Uuid::from_u128(0xa1), Uuid::from_u128(0xb2))
    }

    #[test]
    fn a_box_publishes_only_its_own_reports() {
        let (a, b) = ids();
        let me = Principal::Device(a);
        for c in Channel::FROM_DEVICE {
            assert!(may_publish(me, &topic(&a.to_string(), c)));
            assert!(
                !may_publish(me, &topic(&b.to_string(), c)),
                "{c:?} of another box"
            );
        }
        assert!(
            !may_publish(me, &topic(&a.to_string(), Channel::Nudge)),
            "only the server nudges"
        );
        assert!(!may_publish(me, "wavecast/v1/devices/+/status"));
        assert!(!may_publish(me, "$SYS/broker/uptime"));
        assert!(!may_publish(me, "elsewhere"));
        // The same id spelt differently is not the box's own topic.
        let upper = a.to_string().to_uppercase();
        assert!(!may_publish(me, &format!("{DEVICES_PREFIX}{upper}/status")));
    }

    #[test]
    fn a_box_subscribes_only_inside_its_prefix() {
        let (a, b) = ids();
        let me = Principal::Device(a);
        for tail in ["nudge", "+", "#"] {
            assert!(
                may_subscribe(me, &format!("{DEVICES_PREFIX}{a}/{tail}")),
                "{tail}"
            );
            assert!(
                !may_subscribe(me, &format!("{DEVICES_PREFIX}{b}/{tail}")),
                "{tail}"
            );
        }
        for f in [
            "#",
            "wavecast/#",
            "wavecast/v1/devices/+/nudge",
            "wavecast/v1/devices/#",
            "$share/g/wavecast/v1/devices/+/status",
            "$SYS/#",
        ] {
            assert!(!may_subscribe(me, f), "{f}");
        }
        assert!(!may_subscribe(me, &format!("{DEVICES_PREFIX}{a}/status/x")));
    }

    #[test]
    fn the_server_works_under_the_device_prefix_only() {
        let (a, _) = ids();
        assert!(may_publish(
            Principal::Server,
            &topic(&a.to_string(), Channel::Nudge)
        ));
        assert!(may_subscribe(
            Principal::Server,
            "$share/wavecast/wavecast/v1/devices/+/status"
        ));
        assert!(may_subscribe(
            Principal::Server,
            "wavecast/v1/devices/+/faults"
        ));
        assert!(!may_subscribe(Principal::Server, "$SYS/#"));
        assert!(!may_publish(Principal::Server, "elsewhere"));
    }

    #[test]
    fn boxes_connect_as_themselves() {
        let (a, _) = ids();
        let id = a.to_string();
        assert_eq!(device_connect(&id, Some(&id)), Ok(a));
        assert!(device_connect("other", Some(&id)).is_err());
        assert!(device_connect(&id, None).is_err());
        assert!(device_connect("x", Some("x")).is_err());
    }
}
