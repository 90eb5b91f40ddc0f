//! Mosquitto dynamic-security commands: one client and one role per box,
//! granting the topics `mqtt::acl` grants on the embedded broker (a
//! little stricter: a box subscribes to its `nudge` topic literally, not
//! with `+` or `#` under its prefix), and a role for the server itself. The server sends them on the
//! plugin's control topic with an account that administers the plugin.

use serde_json::{json, Value};
use uuid::Uuid;
use wavecast_protocol::mqtt::{topic, Channel, DEVICES_PREFIX};

pub const CONTROL_TOPIC: &str = "$CONTROL/dynamic-security/v1";
pub const RESPONSE_TOPIC: &str = "$CONTROL/dynamic-security/v1/response";

const SERVER_ROLE: &str = "wavecast-server";

fn device_role(id: Uuid) -> String {
    format!("wavecast-device-{id}")
}

fn acl(kind: &str, topic: String) -> Value {
    json!({ "acltype": kind, "topic": topic, "allow": true })
}

/// Creates (or updates the password of) a box's client, with a role that may
/// publish its own status, telemetry and faults and receive its own nudges.
/// Creating what already exists fails harmlessly; the password is set in
/// every case, so a renewed credential replaces the old one.
pub fn device_account(id: Uuid, credential: &str) -> Value {
    let me = id.to_string();
    let mut acls: Vec<Value> = Channel::FROM_DEVICE
        .iter()
        .map(|c| acl("publishClientSend", topic(&me, *c)))
        .collect();
    acls.push(acl("subscribeLiteral", topic(&me, Channel::Nudge)));
    acls.push(acl("publishClientReceive", topic(&me, Channel::Nudge)));
    json!({ "commands": [
        { "command": "createRole", "rolename": device_role(id), "acls": acls },
        { "command": "createClient", "username": me, "clientid": me, "password": credential,
          "roles": [{ "rolename": device_role(id) }] },
        { "command": "setClientPassword", "username": me, "password": credential },
        { "command": "enableClient", "username": me },
    ]})
}

/// Deletes a decommissioned box's client (which disconnects it) and role.
pub fn remove_device(id: Uuid) -> Value {
    json!({ "commands": [
        { "command": "deleteClient", "username": id.to_string() },
        { "command": "deleteRole", "rolename": device_role(id) },
    ]})
}

/// The server's own role: nudge any box, hear every box. Given to the
/// account the server connects with.
pub fn server_role(username: Option<&str>) -> Value {
    let all = format!("{DEVICES_PREFIX}#");
    let mut commands = vec![json!({
        "command": "createRole", "rolename": SERVER_ROLE, "acls": [
            acl("publishClientSend", format!("{DEVICES_PREFIX}+/{}", Channel::Nudge.as_str())),
            acl("publishClientReceive", all.clone()),
            acl("subscribePattern", all.clone()),
            acl("subscribePattern", format!("$share/+/{all}")),
        ]
    })];
    if let Some(user) = username {
        commands
            .push(json!({ "command": "addClientRole", "username": user, "rolename": SERVER_ROLE }));
    }
    json!({ "commands": commands })
}

/// Logs what the plugin answered; "already exists" is expected and quiet.
pub fn log_response(payload: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(payload) else {
        tracing::warn!("unreadable answer from the broker's dynamic-security plugin");
        return;
    };
    for r in v["responses"].as_array().into_iter().flatten() {
        let Some(error) = r["error"].as_str() else {
            continue;
        };
        if error.contains("already exists") || error.contains("already has role") {
            tracing::debug!(command = %r["command"], %error, "broker provisioning");
        } else {
            tracing::warn!(command = %r["command"], %error, "broker provisioning failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_account_grants_only_its_own_topics() {
        let id = Uuid::from_u128(7);
        let v = device_account(id, "wcd_secret");
        let commands = v["commands"].as_array().expect("commands");
        let acls = commands[0]["acls"].as_array().expect("acls");
        for a in acls {
            let t = a["topic"].as_str().expect("topic");
            assert!(t.starts_with(&format!("{DEVICES_PREFIX}{id}/")), "{t}");
            assert!(!t.contains(['+', '#']), "no wildcards: {t}");
        }
        assert_eq!(acls.len(), 5);
        assert_eq!(
            commands[1]["clientid"],
            id.to_string(),
            "its id is its client id"
        );
        assert_eq!(commands[2]["password"], "wcd_secret");
    }
}
