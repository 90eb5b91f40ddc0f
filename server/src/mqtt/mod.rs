//! MQTT at the edge: the embedded broker ([`broker`]) with its TLS
//! listener ([`tls_front`]), the server's own link to whichever broker is
//! in use ([`link`]) and, for Mosquitto, the provisioning of per-box
//! accounts ([`dynsec`]).
//!
//! MQTT only hurries things along. The server nudges boxes to check in when
//! their wave opens; boxes publish status, telemetry and faults. Every one of
//! those also works over HTTPS, so when MQTT is off or the broker is down the
//! server logs it and carries on: nudges wait in the link's queue (boxes
//! still poll) and nothing else waits for the broker.
//!
//! The embedded broker listens for plain MQTT on loopback by default (the
//! server's own link uses it); `mqtt.tls` adds MQTT over TLS for boxes,
//! with a certificate renewed without a restart. With several server
//! instances, use an external broker: nudges go out from the instance that
//! runs the scheduler.

pub mod acl;
pub mod broker;
pub mod dynsec;
pub mod ingest;
mod link;
pub mod tls_front;

pub use ingest::Ingest;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use rumqttc::{AsyncClient, QoS};
use sea_orm::DatabaseConnection;
use uuid::Uuid;
use wavecast_protocol::mqtt::{topic, Channel, Nudge, NudgeReason};

use crate::{
    identity::tokens::rules::{generate_in, Scheme},
    platform::{
        clock::Clock,
        config::{parse_broker_url, BrokerAddr, MqttConfig, MqttMode, MqttProvision},
    },
};
use acl::SERVER_USER;

#[derive(Debug, Default)]
struct Counters {
    nudges_sent: AtomicU64,
    nudges_dropped: AtomicU64,
}

/// The server's handle on MQTT; cheap to clone. When MQTT is off, every
/// method does nothing.
#[derive(Clone, Debug)]
pub struct Mqtt {
    client: Option<AsyncClient>,
    clock: Clock,
    provision: MqttProvision,
    advertise_url: Option<String>,
    nudge_delay: std::time::Duration,
    counters: Arc<Counters>,
}

/// The client id of the server's persistent session at an external broker:
/// `mqtt.session` when set; otherwise one per host and HTTP port, stable
/// across restarts (`None`, a clean session, when the port is picked at
/// random and so is no name for the instance).
pub fn session_id(cfg: &MqttConfig, http_port: u16) -> Option<String> {
    if let Some(s) = &cfg.session {
        return Some(s.clone());
    }
    if http_port == 0 {
        return None;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "local".to_owned());
    Some(format!("wavecast-server-{host}-{http_port}"))
}

/// What [`start`] brought up.
#[derive(Debug)]
pub struct Started {
    pub mqtt: Mqtt,
    /// The embedded broker's address, when it runs.
    pub embedded: Option<SocketAddr>,
}

impl Mqtt {
    /// MQTT switched off.
    pub fn off() -> Self {
        Self {
            client: None,
            clock: Clock::system(),
            provision: MqttProvision::None,
            advertise_url: None,
            nudge_delay: std::time::Duration::ZERO,
            counters: Arc::default(),
        }
    }

    /// The broker address boxes are told, if any.
    pub fn advertise_url(&self) -> Option<&str> {
        self.advertise_url.as_deref()
    }

    /// Asks boxes to check in now. Sent after `nudge_delay` (the check-in
    /// caches' time to live, so that every instance answers the nudged box
    /// with the wave already open), then at the pace the broker takes them;
    /// while the broker is away they wait in the link's queue. Boxes still
    /// check in on their own schedule whatever happens to a nudge.
    pub fn nudge(&self, devices: Vec<Uuid>, reason: NudgeReason, rollout: Option<Uuid>) {
        let Some(client) = self.client.clone() else {
            return;
        };
        let counters = self.counters.clone();
        let payload = match serde_json::to_vec(&Nudge {
            reason,
            rollout_id: rollout.map(|r| r.to_string()),
            sent_at: self.clock.now().timestamp(),
        }) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode a nudge");
                return;
            }
        };
        let delay = self.nudge_delay;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let total = devices.len();
            let mut dropped = 0usize;
            for id in devices {
                let t = topic(&id.to_string(), Channel::Nudge);
                // `publish` waits for room in the client's queue: a large wave
                // is sent at the pace the broker takes it. It fails only when
                // the link is gone for good.
                if client
                    .publish(t, QoS::AtLeastOnce, false, payload.clone())
                    .await
                    .is_err()
                {
                    dropped += 1;
                }
            }
            counters
                .nudges_sent
                .fetch_add((total - dropped) as u64, Ordering::Relaxed);
            counters
                .nudges_dropped
                .fetch_add(dropped as u64, Ordering::Relaxed);
            tracing::debug!(total, dropped, ?reason, "nudged boxes");
        });
    }

    /// Gives a box its broker account (Mosquitto dynamic security) after it
    /// received a new credential. Does nothing for brokers that check
    /// credentials themselves (the embedded one asks the database).
    pub fn provision_device(&self, id: Uuid, credential: &str) {
        if let (Some(client), MqttProvision::MosquittoDynsec) = (&self.client, self.provision) {
            let commands = dynsec::device_account(id, credential);
            link::send_control(client, commands);
        }
    }

    /// Removes a decommissioned box's broker account.
    pub fn remove_device(&self, id: Uuid) {
        if let (Some(client), MqttProvision::MosquittoDynsec) = (&self.client, self.provision) {
            link::send_control(client, dynsec::remove_device(id));
        }
    }
}

/// Starts MQTT as configured: the embedded broker and the server's link to
/// it, or the link to an external broker, or nothing. Fails only when the
/// embedded broker cannot listen; an unreachable external broker is retried
/// in the background.
pub async fn start(
    cfg: &MqttConfig,
    http_port: u16,
    nudge_delay: std::time::Duration,
    db: DatabaseConnection,
    ingest: Ingest,
) -> anyhow::Result<Started> {
    let clock = ingest.clock.clone();
    match cfg.mode {
        MqttMode::Off => Ok(Started {
            mqtt: Mqtt {
                clock: ingest.clock.clone(),
                ..Mqtt::off()
            },
            embedded: None,
        }),
        MqttMode::Embedded => {
            let secret = generate_in(Scheme::Device).plaintext;
            let addr = broker::start(cfg, db.clone(), secret.clone(), ingest.clone()).await?;
            let tls = match &cfg.tls {
                Some(tls) => Some(tls_front::start(tls, addr, cfg.max_connections).await?),
                None => None,
            };
            let target = BrokerAddr {
                host: addr.ip().to_string(),
                port: addr.port(),
                username: Some(SERVER_USER.to_owned()),
                password: Some(secret),
            };
            // The broker lives and dies with this process: its sessions
            // too, so a fresh clean session each start.
            let client = link::spawn(
                target,
                link::Session {
                    id: None,
                    shared: false,
                },
                db,
                MqttProvision::None,
                ingest,
            );
            Ok(Started {
                mqtt: Mqtt {
                    client: Some(client),
                    clock: clock.clone(),
                    provision: MqttProvision::None,
                    advertise_url: Some(cfg.advertise_url.clone().unwrap_or_else(|| {
                        tls.map_or_else(|| format!("mqtt://{addr}"), |t| format!("mqtts://{t}"))
                    })),
                    nudge_delay,
                    counters: Arc::default(),
                },
                embedded: Some(addr),
            })
        }
        MqttMode::External => {
            let url = cfg
                .url
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("mqtt.mode = \"external\" needs mqtt.url"))?;
            let target = parse_broker_url(url.expose()).map_err(anyhow::Error::msg)?;
            let advertise = cfg
                .advertise_url
                .clone()
                .unwrap_or_else(|| format!("mqtt://{}:{}", target.host, target.port));
            let client = link::spawn(
                target,
                link::Session {
                    id: session_id(cfg, http_port),
                    shared: cfg.shared_subscriptions,
                },
                db,
                cfg.provision,
                ingest,
            );
            Ok(Started {
                mqtt: Mqtt {
                    client: Some(client),
                    clock: clock.clone(),
                    provision: cfg.provision,
                    advertise_url: Some(advertise),
                    nudge_delay,
                    counters: Arc::default(),
                },
                embedded: None,
            })
        }
    }
}
