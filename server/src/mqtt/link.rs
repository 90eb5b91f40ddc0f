//! The server's own MQTT connection: subscribes to what boxes publish,
//! applies status reports and stores health and fault events like the
//! HTTPS routes do, and carries nudges and broker provisioning commands out. Reconnects with a growing pause when
//! the broker is away; HTTPS never waits for it.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use sea_orm::{DatabaseConnection, EntityTrait};
use uuid::Uuid;
use wavecast_protocol::{
    events::EventBatch,
    mqtt::{parse_topic, Channel, DEVICES_PREFIX},
    status::StatusReport,
};

use super::{dynsec, BrokerAddr};
use crate::{config::MqttProvision, domain::enrolment::DeviceStatus, entities::device};

/// The shared-subscription group: with several servers on one broker, each
/// message from a box reaches exactly one of them.
const GROUP: &str = "wavecast";

/// Most box messages handled at once; the rest wait in the broker.
const IN_FLIGHT: usize = 64;

fn filters() -> Vec<String> {
    Channel::FROM_DEVICE
        .iter()
        .map(|c| format!("$share/{GROUP}/{DEVICES_PREFIX}+/{}", c.as_str()))
        .collect()
}

/// Connects in the background and returns the client for publishing.
pub fn spawn(target: BrokerAddr, db: DatabaseConnection, provision: MqttProvision) -> AsyncClient {
    let client_id = format!("wavecast-server-{}", Uuid::new_v4().simple());
    let mut options = MqttOptions::new(client_id, target.host.clone(), target.port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_max_packet_size(super::broker::MAX_PACKET, super::broker::MAX_PACKET);
    if let Some(user) = &target.username {
        options.set_credentials(user.clone(), target.password.clone().unwrap_or_default());
    }
    let (client, events) = AsyncClient::new(options, 1024);
    tokio::spawn(run(client.clone(), events, db, provision, target));
    client
}

async fn run(
    client: AsyncClient,
    mut events: EventLoop,
    db: DatabaseConnection,
    provision: MqttProvision,
    target: BrokerAddr,
) {
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut pause = Duration::from_millis(200);
    let mut up = false;
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                tracing::info!(host = %target.host, port = target.port, "MQTT link up");
                up = true;
                pause = Duration::from_millis(200);
                let mut subs: Vec<String> = filters();
                if provision == MqttProvision::MosquittoDynsec {
                    subs.push(dynsec::RESPONSE_TOPIC.to_owned());
                    send_control(&client, dynsec::server_role(target.username.as_deref()));
                }
                for f in subs {
                    if let Err(e) = client.try_subscribe(f, QoS::AtLeastOnce) {
                        tracing::error!(error = %e, "cannot queue an MQTT subscription");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if p.topic == dynsec::RESPONSE_TOPIC {
                    dynsec::log_response(&p.payload);
                    continue;
                }
                let Ok(permit) = limit.clone().acquire_owned().await else {
                    return;
                };
                let db = db.clone();
                tokio::spawn(async move {
                    handle(&db, &p.topic, &p.payload).await;
                    drop(permit);
                });
            }
            Ok(_) => {}
            Err(e) => {
                if up {
                    tracing::warn!(error = %e, "MQTT link down; HTTPS carries on, retrying");
                    up = false;
                } else {
                    tracing::debug!(error = %e, "MQTT broker still unreachable");
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Sends a dynamic-security command message; waits (in the background) for
/// room in the client's queue rather than dropping it.
pub(super) fn send_control(client: &AsyncClient, commands: serde_json::Value) {
    let client = client.clone();
    tokio::spawn(async move {
        let body = commands.to_string();
        if let Err(e) = client
            .publish(dynsec::CONTROL_TOPIC, QoS::AtLeastOnce, false, body)
            .await
        {
            tracing::error!(error = %e, "cannot send a broker provisioning command");
        }
    });
}

/// One message from a box. The broker's rules guarantee that only the box
/// named in the topic could have published it.
async fn handle(db: &DatabaseConnection, topic: &str, payload: &[u8]) {
    let Some((id, channel)) = parse_topic(topic) else {
        tracing::debug!(%topic, "ignoring a message outside the device topics");
        return;
    };
    let Ok(id) = Uuid::parse_str(id) else {
        return;
    };
    let now = chrono::Utc::now();
    let d = match device::Entity::find_by_id(id).one(db).await {
        Ok(Some(d))
            if d.status == DeviceStatus::Accepted.as_str()
                && d.credential_expires_at.is_some_and(|at| at > now) =>
        {
            d
        }
        Ok(_) => {
            // A session opened before a decommissioning or with a credential
            // that has since expired says nothing more.
            tracing::info!(device = %id, "ignoring MQTT message from a box without a valid credential");
            return;
        }
        Err(e) => {
            tracing::warn!(device = %id, error = %e, "cannot load the box of an MQTT message");
            return;
        }
    };
    match channel {
        Channel::Status => match serde_json::from_slice::<StatusReport>(payload) {
            Ok(report) => {
                if let Err(e) = crate::engine::status::apply(db, &d, report).await {
                    tracing::info!(device = %id, error = %e, "MQTT status report refused");
                }
            }
            Err(e) => tracing::info!(device = %id, error = %e, "malformed MQTT status report"),
        },
        // Health and faults: an `EventBatch`, stored as the HTTPS route
        // stores it (one transaction, redeliveries skipped by event id).
        Channel::Telemetry | Channel::Faults => match serde_json::from_slice::<EventBatch>(payload)
        {
            Ok(batch) => {
                if let Err(e) = crate::events::store(db, d.id, batch).await {
                    tracing::info!(device = %id, channel = channel.as_str(), error = %e, "MQTT events refused");
                }
            }
            Err(e) => tracing::info!(
                device = %id,
                channel = channel.as_str(),
                error = %e,
                "malformed MQTT events"
            ),
        },
        Channel::Nudge => {}
    }
}
