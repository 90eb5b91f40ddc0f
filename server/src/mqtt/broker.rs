//! The embedded broker: the `mqtt5` crate's broker with our gate in front.
//!
//! The gate authenticates every connection (the server with its per-process
//! secret, a box with its device id and current credential, checked against
//! the database like an HTTPS request) and asks `mqtt::acl` about
//! every publish and subscribe, so a box reaches only its own topics.
//!
//! Health and fault batches are stored by the broker itself, before it
//! acknowledges them to the box ([`Ingestor`]): with broker and server in
//! one process, an acknowledgement given before storing would be lost if
//! the process stopped in between. Should storing fail, the message goes on
//! to the server's link, which stores it as for an external broker.

use std::{future::Future, net::SocketAddr, pin::Pin, sync::Arc};

use anyhow::Context as _;
use mqtt5::{
    broker::{
        AuthProvider, AuthResult, BrokerConfig, BrokerEventHandler, ClientPublishEvent, MqttBroker,
        PublishAction, StorageConfig,
    },
    packet::connect::ConnectPacket,
    protocol::v5::reason_codes::ReasonCode,
};
use sea_orm::DatabaseConnection;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use wavecast_protocol::mqtt::Channel;

use super::{
    acl::{device_connect, may_publish, may_subscribe, Principal, MAX_PACKET, SERVER_USER},
    ingest::Ingest,
};
use crate::{
    fleet::devices::store::authenticate,
    platform::{clock::Clock, config::MqttConfig},
};

/// The user id the gate gives the server's own connection.
const SERVER_PRINCIPAL: &str = "server";

struct Gate {
    db: DatabaseConnection,
    clock: Clock,
    server_secret: String,
}

fn principal(user_id: Option<&str>) -> Option<Principal> {
    match user_id? {
        SERVER_PRINCIPAL => Some(Principal::Server),
        id => Uuid::parse_str(id).ok().map(Principal::Device),
    }
}

impl Gate {
    async fn check(&self, connect: &ConnectPacket) -> AuthResult {
        let password = connect
            .password
            .as_deref()
            .and_then(|p| std::str::from_utf8(p).ok())
            .unwrap_or_default();
        if connect.username.as_deref() == Some(SERVER_USER) {
            return if bool::from(password.as_bytes().ct_eq(self.server_secret.as_bytes())) {
                AuthResult::success_with_user(SERVER_PRINCIPAL)
            } else {
                AuthResult::fail(ReasonCode::BadUsernameOrPassword)
            };
        }
        let id = match device_connect(&connect.client_id, connect.username.as_deref()) {
            Ok(id) => id,
            Err(reason) => {
                tracing::info!(client_id = %connect.client_id, %reason, "MQTT connection refused");
                return AuthResult::fail_with_reason(ReasonCode::ClientIdentifierNotValid, reason);
            }
        };
        match authenticate(&self.db, password, self.clock.now()).await {
            Ok(d) if d.id == id => {
                tracing::debug!(device = %id, "MQTT connection accepted");
                AuthResult::success_with_user(id.to_string())
            }
            Ok(_) => AuthResult::fail_with_reason(
                ReasonCode::BadUsernameOrPassword,
                "the credential belongs to another device",
            ),
            Err(e) => {
                tracing::info!(device = %id, error = %e, "MQTT connection refused");
                AuthResult::fail_with_reason(ReasonCode::BadUsernameOrPassword, e.to_string())
            }
        }
    }
}

impl AuthProvider for Gate {
    fn authenticate<'a>(
        &'a self,
        connect: &'a ConnectPacket,
        _client_addr: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = mqtt5::Result<AuthResult>> + Send + 'a>> {
        Box::pin(async move { Ok(self.check(connect).await) })
    }

    fn authorize_publish<'a>(
        &'a self,
        client_id: &str,
        user_id: Option<&'a str>,
        topic: &'a str,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        let allowed = principal(user_id).is_some_and(|p| may_publish(p, topic));
        if !allowed {
            tracing::info!(%client_id, %topic, "MQTT publish refused");
        }
        Box::pin(async move { allowed })
    }

    fn authorize_subscribe<'a>(
        &'a self,
        client_id: &str,
        user_id: Option<&'a str>,
        topic_filter: &'a str,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        let allowed = principal(user_id).is_some_and(|p| may_subscribe(p, topic_filter));
        if !allowed {
            tracing::info!(%client_id, filter = %topic_filter, "MQTT subscribe refused");
        }
        Box::pin(async move { allowed })
    }
}

/// Stores a box's event batches before the broker acknowledges them.
struct Ingestor {
    db: DatabaseConnection,
    ingest: Ingest,
}

impl BrokerEventHandler for Ingestor {
    fn on_client_publish<'a>(
        &'a self,
        event: ClientPublishEvent,
    ) -> Pin<Box<dyn Future<Output = PublishAction> + Send + 'a>> {
        Box::pin(async move {
            // The gate let only this box publish under its own id.
            let Some(Principal::Device(from)) = principal(event.user_id.as_deref()) else {
                return PublishAction::Continue;
            };
            let Some((id, channel)) = super::link::sender(&event.topic) else {
                return PublishAction::Continue;
            };
            if id != from || !matches!(channel, Channel::Telemetry | Channel::Faults) {
                return PublishAction::Continue;
            }
            self.ingest.metrics.mqtt_message(channel.as_str());
            let Some(incoming) =
                super::link::prepare(&self.db, &self.ingest, id, &event.topic, &event.payload)
                    .await
            else {
                // Never storable: acknowledged and dropped (counted).
                return PublishAction::Handled;
            };
            match self.ingest.pipeline.store_waiting(incoming).await {
                Ok(_) => PublishAction::Handled,
                Err(e) => {
                    tracing::warn!(device = %id, error = %e, "cannot store MQTT events; passing them to the link");
                    PublishAction::Continue
                }
            }
        })
    }
}

/// Binds the embedded broker and runs it in the background; returns the
/// address it listens on.
pub async fn start(
    cfg: &MqttConfig,
    db: DatabaseConnection,
    server_secret: String,
    ingest: Ingest,
) -> anyhow::Result<SocketAddr> {
    let ingest_clock = ingest.clock.clone();
    let storage = StorageConfig {
        enable_persistence: false,
        ..StorageConfig::default()
    };
    let mut config = BrokerConfig::default()
        .with_bind_address(cfg.listen)
        .with_max_clients(cfg.max_connections.max(1))
        // Reports, telemetry and faults are small; nothing larger is taken.
        .with_max_packet_size(MAX_PACKET)
        // The server's link acknowledges a batch once stored: let enough
        // messages be in flight to it to fill the writer's transactions.
        .with_max_outbound_inflight(4096)
        .with_storage(storage)
        .with_event_handler(Arc::new(Ingestor {
            db: db.clone(),
            ingest,
        }));
    config.sys_topics_enabled = false;
    let broker = MqttBroker::with_config(config)
        .await
        .with_context(|| format!("cannot listen for MQTT on {}", cfg.listen))?;
    let clock = ingest_clock;
    let mut broker = broker.with_auth_provider(Arc::new(Gate {
        db,
        clock,
        server_secret,
    }));
    let addr = broker
        .local_addr()
        .ok_or_else(|| anyhow::anyhow!("the MQTT broker reports no address"))?;
    tokio::spawn(async move {
        if let Err(e) = broker.run().await {
            tracing::error!(error = %e, "the embedded MQTT broker stopped");
        }
    });
    tracing::info!(
        %addr,
        auth = "device credentials; anonymous connections refused",
        "embedded MQTT broker listening"
    );
    Ok(addr)
}
