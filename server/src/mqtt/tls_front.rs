//! MQTT over TLS for the embedded broker (`mqtt.tls`): a TLS listener that
//! presents the certificate `platform::certs` reads (and reads again when
//! renewed, so a new certificate needs no restart), and relays each
//! connection's plain bytes to the broker's own listener on this host.
//!
//! The broker's TLS listener reads its files once at start; terminating
//! TLS here, with the same reloading resolver HTTPS uses, is what lets a
//! renewal go live without dropping every box. The broker then sees these
//! connections come from loopback; boxes are told apart by their
//! credentials, never by address.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use rustls::ServerConfig;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tokio_rustls::TlsAcceptor;

use crate::platform::{certs::ReloadingCert, config::MqttTlsConfig};

/// A TLS handshake not finished in this time is dropped.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// Where the relay reaches the broker: its own address, with a wildcard
/// bind reached on loopback.
fn broker_target(broker: SocketAddr) -> SocketAddr {
    let mut target = broker;
    if target.ip().is_unspecified() {
        target.set_ip(if broker.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    target
}

/// Listens on `cfg.listen` and relays to the broker at `broker`, for at
/// most `max_connections` boxes at once. Returns the bound address (a port
/// of 0 is chosen by the system). Fails when the certificate cannot be
/// read or the address cannot be bound.
pub async fn start(
    cfg: &MqttTlsConfig,
    broker: SocketAddr,
    max_connections: usize,
) -> anyhow::Result<SocketAddr> {
    let cert = ReloadingCert::open(cfg.files()).context("mqtt.tls")?;
    cert.clone().watch();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| unreachable!("the ring provider supports the default versions"))
        .with_no_client_auth()
        .with_cert_resolver(cert);
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen for MQTT over TLS on {}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let target = broker_target(broker);
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    tokio::spawn(async move {
        loop {
            let (socket, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "MQTT over TLS: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            // Over the limit, the connection is closed at once, as the
            // broker would refuse it.
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                drop(socket);
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _slot = slot;
                if let Err(e) = relay(acceptor, socket, target).await {
                    tracing::debug!(%peer, error = %format!("{e:#}"), "MQTT over TLS connection ended");
                }
            });
        }
    });
    tracing::info!(%addr, broker = %target, "MQTT over TLS listening");
    Ok(addr)
}

/// One box's connection: the handshake, then bytes both ways until either
/// side closes.
async fn relay(acceptor: TlsAcceptor, socket: TcpStream, target: SocketAddr) -> anyhow::Result<()> {
    socket.set_nodelay(true)?;
    let mut tls = tokio::time::timeout(HANDSHAKE, acceptor.accept(socket))
        .await
        .context("TLS handshake timed out")?
        .context("TLS handshake")?;
    let mut broker = TcpStream::connect(target)
        .await
        .with_context(|| format!("cannot reach the broker at {target}"))?;
    broker.set_nodelay(true)?;
    tokio::io::copy_bidirectional(&mut tls, &mut broker).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::broker_target;

    #[test]
    fn a_wildcard_broker_is_reached_on_loopback() {
        let t = |s: &str| broker_target(s.parse().expect("addr")).to_string();
        assert_eq!(t("0.0.0.0:1883"), "127.0.0.1:1883");
        assert_eq!(t("[::]:1883"), "[::1]:1883");
        assert_eq!(t("10.0.0.5:1883"), "10.0.0.5:1883");
    }
}
