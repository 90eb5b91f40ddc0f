//! The server's own MQTT connection: subscribes to what boxes publish,
//! applies status reports, hands health and fault batches to the event
//! pipeline like the HTTPS route does, and carries nudges and broker
//! provisioning commands out. Reconnects with a growing pause when the
//! broker is away; HTTPS never waits for it.
//!
//! Nothing a box sent is lost once the broker has it: the link keeps a
//! persistent session (clean session off, a client id stable across
//! restarts) and acknowledges an event message only after the transaction
//! storing it committed (manual acks), so the broker redelivers whatever
//! the server had not stored when it stopped or lost the connection. A
//! full pipeline stops the link reading: the broker holds the rest.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS};
use sea_orm::{DatabaseConnection, EntityTrait};
use uuid::Uuid;
use wavecast_protocol::{
    events::EventBatch,
    mqtt::{parse_topic, Channel, DEVICES_PREFIX},
    status::StatusReport,
};

use super::{acl::MAX_PACKET, dynsec, ingest::Ingest};
use crate::{
    fleet::devices::rules::DeviceStatus,
    intake::store::{Incoming, Stored},
    platform::{
        config::{BrokerAddr, MqttProvision},
        entities::device,
        error::{Error, Result},
    },
    updates::installs::store as installs,
};

/// The shared-subscription group: with several servers on one broker, each
/// message from a box reaches exactly one of them.
const GROUP: &str = "wavecast";

/// Most box messages handled at once; the rest wait in the broker.
const IN_FLIGHT: usize = 64;

/// How the link meets the broker.
#[derive(Debug, Clone)]
pub struct Session {
    /// The client id of a persistent session, or `None` for a new clean
    /// session each time.
    pub id: Option<String>,
    /// Shared subscriptions (each message to one instance) rather than
    /// plain ones (each message to every instance).
    pub shared: bool,
}

fn filters(shared: bool) -> Vec<String> {
    Channel::FROM_DEVICE
        .iter()
        .map(|c| {
            let f = format!("{DEVICES_PREFIX}+/{}", c.as_str());
            if shared {
                format!("$share/{GROUP}/{f}")
            } else {
                f
            }
        })
        .collect()
}

/// Connects in the background and returns the client for publishing.
pub fn spawn(
    target: BrokerAddr,
    session: Session,
    db: DatabaseConnection,
    provision: MqttProvision,
    ingest: Ingest,
) -> AsyncClient {
    let persistent = session.id.is_some();
    let shared = session.shared;
    let client_id = session
        .id
        .unwrap_or_else(|| format!("wavecast-server-{}", Uuid::new_v4().simple()));
    let mut options = MqttOptions::new(client_id, target.host.clone(), target.port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_max_packet_size(MAX_PACKET, MAX_PACKET);
    options.set_clean_session(!persistent);
    options.set_manual_acks(true);
    if let Some(user) = &target.username {
        options.set_credentials(user.clone(), target.password.clone().unwrap_or_default());
    }
    let (client, events) = AsyncClient::new(options, 1024);
    tokio::spawn(run(
        client.clone(),
        events,
        db,
        provision,
        target,
        ingest,
        shared,
    ));
    client
}

/// Acknowledges a message without ever waiting in the caller: when the
/// client's queue is full, a task waits for room.
fn ack(client: &AsyncClient, p: Publish) {
    if client.try_ack(&p).is_err() {
        let client = client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.ack(&p).await {
                tracing::debug!(error = %e, "cannot acknowledge an MQTT message; the broker will send it again");
            }
        });
    }
}

async fn run(
    client: AsyncClient,
    mut events: EventLoop,
    db: DatabaseConnection,
    provision: MqttProvision,
    target: BrokerAddr,
    ingest: Ingest,
    shared: bool,
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
                let mut subs: Vec<String> = filters(shared);
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
                    ack(&client, p);
                    continue;
                }
                let Some((id, channel)) = sender(&p.topic) else {
                    tracing::debug!(topic = %p.topic, "ignoring a message outside the device topics");
                    ack(&client, p);
                    continue;
                };
                ingest.metrics.mqtt_message(channel.as_str());
                match channel {
                    Channel::Telemetry | Channel::Faults => {
                        events_message(&client, &db, &ingest, id, p).await;
                    }
                    _ => {
                        let Ok(permit) = limit.clone().acquire_owned().await else {
                            return;
                        };
                        let (db, client, ingest) = (db.clone(), client.clone(), ingest.clone());
                        tokio::spawn(async move {
                            if status_message(&db, &ingest, id, channel, &p.payload).await {
                                ack(&client, p);
                            }
                            drop(permit);
                        });
                    }
                }
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

/// The box and channel of a device topic. The broker's rules guarantee
/// that only the box named in the topic could have published on it.
pub(super) fn sender(topic: &str) -> Option<(Uuid, Channel)> {
    let (id, channel) = parse_topic(topic)?;
    Some((Uuid::parse_str(id).ok()?, channel))
}

/// The model of box `id` if it may still speak: from the device directory,
/// or the database for a box the directory does not hold yet. A session
/// opened before a decommissioning or with a credential that has since
/// expired says nothing more.
async fn speaking(db: &DatabaseConnection, ingest: &Ingest, id: Uuid) -> Option<String> {
    if let Some(e) = ingest.directory.by_id(id) {
        return (e.credential_expires_at > ingest.clock.now()).then(|| e.profile.model.to_string());
    }
    speaking_row(db, ingest, id).await.map(|d| d.model)
}

/// The row of box `id` if it may still speak, read from the database.
async fn speaking_row(db: &DatabaseConnection, ingest: &Ingest, id: Uuid) -> Option<device::Model> {
    let now = ingest.clock.now();
    match device::Entity::find_by_id(id).one(db).await {
        Ok(Some(d))
            if d.status == DeviceStatus::Accepted
                && d.credential_expires_at.is_some_and(|at| at > now) =>
        {
            Some(d)
        }
        Ok(_) => {
            tracing::info!(device = %id, "ignoring MQTT message from a box without a valid credential");
            None
        }
        Err(e) => {
            tracing::warn!(device = %id, error = %e, "cannot load the box of an MQTT message");
            None
        }
    }
}

/// Health and faults from box `id`: an `EventBatch`, checked, ready for
/// the pipeline; `None` when it can never be stored (from a box that may
/// not speak, malformed, invalid, over the box's rate): it is counted and
/// logged, and the caller acknowledges it at once.
pub(super) async fn prepare(
    db: &DatabaseConnection,
    ingest: &Ingest,
    id: Uuid,
    topic: &str,
    payload: &[u8],
) -> Option<Incoming> {
    let model = speaking(db, ingest, id).await?;
    ingest.presence.touch(id);
    let batch = match serde_json::from_slice::<EventBatch>(payload)
        .map_err(|e| e.to_string())
        .and_then(|b| b.validate().map(|()| b))
    {
        Ok(b) => b,
        Err(e) => {
            ingest.metrics.ingest_refused("malformed");
            tracing::info!(device = %id, %topic, error = %e, "malformed MQTT events dropped");
            return None;
        }
    };
    if !ingest.pipeline.admit(id) {
        tracing::debug!(device = %id, "a box over its event rate: message dropped");
        return None;
    }
    Some(Incoming {
        device_id: id,
        model,
        batch,
    })
}

/// Health and faults arriving through the link: stored by the pipeline,
/// acknowledged once stored (or at once when they can never be).
async fn events_message(
    client: &AsyncClient,
    db: &DatabaseConnection,
    ingest: &Ingest,
    id: Uuid,
    p: Publish,
) {
    let Some(incoming) = prepare(db, ingest, id, &p.topic, &p.payload).await else {
        ack(client, p);
        return;
    };
    let acker = client.clone();
    let done = Box::new(move |r: Result<Stored>| match r {
        Ok(_) => ack(&acker, p),
        // Not acknowledged: the broker sends it again after a reconnect.
        Err(e) => {
            tracing::warn!(device = %id, error = %e, "cannot store MQTT events; left with the broker")
        }
    });
    if !ingest.pipeline.submit(incoming, done).await {
        tracing::error!("the event writer stopped");
    }
}

/// A status report, applied as over HTTPS. True when the message is
/// settled (applied, or refused for good) and may be acknowledged; false
/// when the server failed to store it, so the broker keeps it.
async fn status_message(
    db: &DatabaseConnection,
    ingest: &Ingest,
    id: Uuid,
    channel: Channel,
    payload: &[u8],
) -> bool {
    if channel != Channel::Status {
        return true;
    }
    let Some(d) = speaking_row(db, ingest, id).await else {
        return true;
    };
    ingest.presence.touch(id);
    match serde_json::from_slice::<StatusReport>(payload) {
        Ok(report) => match installs::apply(db, &d, report, ingest.clock.now()).await {
            Ok(()) => true,
            Err(Error::Internal(e)) => {
                tracing::warn!(device = %id, error = %e, "cannot store an MQTT status report; left with the broker");
                false
            }
            Err(e) => {
                tracing::info!(device = %id, error = %e, "MQTT status report refused");
                true
            }
        },
        Err(e) => {
            ingest.metrics.ingest_refused("malformed");
            tracing::info!(device = %id, error = %e, "malformed MQTT status report");
            true
        }
    }
}
