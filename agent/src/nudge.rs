//! MQTT: a thread subscribed to the box's own `nudge` topic that wakes the
//! service to check in at once, and publishes the box's event batches for
//! it (QoS 1: a batch leaves the queue only once the broker acknowledged
//! it). A nudge carries nothing to trust: the check-in that follows is
//! signed as always. When the broker is out of reach the box keeps polling
//! and sends its events over HTTPS.

use std::{
    collections::HashMap,
    io,
    net::TcpStream,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc::{self, Receiver, Sender},
        Arc,
    },
    time::{Duration, Instant},
};

use bytes::BytesMut;
// The MQTT 3.1.1 packet codec of `rumqttc` (the crate the server uses),
// driven over a blocking socket: its event loop would bring a tokio runtime
// into the box's 2 MB size budget for one subscription.
use rumqttc::mqttbytes::{
    v4::{Connect, ConnectReturnCode, Login, Packet, PubAck, Publish, Subscribe},
    Error as CodecError, QoS,
};
use wavecast_protocol::mqtt::{topic, Channel};

use crate::tls::{ServerTrust, Stream};

/// The largest packet sent or taken (the server's broker takes 64 KiB).
pub const MAX_PACKET: usize = 60 * 1024;
/// The largest event batch published (room left for the packet's header
/// and topic); larger batches go over HTTPS.
pub const MAX_EVENTS_PAYLOAD: usize = MAX_PACKET - 1024;

/// Where box `device_id` publishes `batch`: `faults` when it holds a
/// fault, `telemetry` otherwise (the server stores both alike).
pub fn events_topic(device_id: &str, batch: &wavecast_protocol::events::EventBatch) -> String {
    let fault = batch
        .events
        .iter()
        .any(|e| matches!(e.body, wavecast_protocol::events::EventBody::Fault(_)));
    topic(
        device_id,
        if fault {
            Channel::Faults
        } else {
            Channel::Telemetry
        },
    )
}
const KEEP_ALIVE: Duration = Duration::from_secs(120);

/// Where the broker is, and whether it speaks TLS (`mqtts://`).
#[derive(Debug, Clone)]
pub struct Broker {
    pub host: String,
    pub port: u16,
    /// TLS, with the trust the box has for the server's HTTPS.
    pub tls: Option<ServerTrust>,
}

/// `mqtt://host:port` or `mqtts://host:port` (the ports default to 1883
/// and 8883); `trust` checks the broker's certificate over TLS.
pub fn parse_url(url: &str, trust: &ServerTrust) -> Option<Broker> {
    let (rest, tls, default_port) = match url.strip_prefix("mqtts://") {
        Some(rest) => (rest, Some(trust.clone()), 8883),
        None => (url.strip_prefix("mqtt://")?, None, 1883),
    };
    let rest = rest.split('/').next()?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (h, p.parse().ok()?),
        _ => (rest, default_port),
    };
    (!host.is_empty()).then(|| Broker {
        host: host.trim_matches(['[', ']']).to_owned(),
        port,
        tls,
    })
}

fn send(stream: &mut dyn Stream, packet: Packet) -> io::Result<()> {
    let mut buf = BytesMut::with_capacity(256);
    packet
        .write(&mut buf, MAX_PACKET)
        .map_err(|e| io::Error::other(format!("MQTT encode: {e:?}")))?;
    stream.write_all(&buf)
}

/// A batch to publish, and where to say whether the broker took it.
struct Request {
    topic: String,
    payload: Vec<u8>,
    done: Sender<bool>,
}

/// The service's handle on the MQTT thread, for publishing.
#[derive(Debug, Clone)]
pub struct Publisher {
    requests: Sender<Request>,
    connected: Arc<AtomicBool>,
}

impl Publisher {
    /// Whether the thread holds a connection now.
    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Publishes at QoS 1 and waits up to `timeout` for the broker's
    /// acknowledgement; false when it did not come (send it another way).
    pub fn publish(&self, topic: String, payload: Vec<u8>, timeout: Duration) -> bool {
        if !self.is_connected() {
            return false;
        }
        let (done, answer) = mpsc::channel();
        if self
            .requests
            .send(Request {
                topic,
                payload,
                done,
            })
            .is_err()
        {
            return false;
        }
        answer.recv_timeout(timeout).unwrap_or(false)
    }
}

/// How long one read waits before the loop looks at its other work.
const POLL: Duration = Duration::from_millis(100);

/// Connects (over TLS for `mqtts://`) and sends the CONNECT packet.
fn connect(broker: &Broker, device_id: &str, credential: &str) -> io::Result<Box<dyn Stream>> {
    let tcp = TcpStream::connect((broker.host.as_str(), broker.port))?;
    let mut stream: Box<dyn Stream> = match &broker.tls {
        Some(trust) => trust.wrap(&broker.host, tcp, POLL)?,
        None => {
            tcp.set_read_timeout(Some(POLL))?;
            Box::new(tcp)
        }
    };
    let mut connect = Connect::new(device_id);
    connect.keep_alive = KEEP_ALIVE.as_secs() as u16;
    connect.clean_session = true;
    connect.login = Some(Login::new(device_id, credential));
    send(stream.as_mut(), Packet::Connect(connect))?;
    Ok(stream)
}

/// Reads what arrived into `buf`; false when nothing did within the
/// socket's read timeout.
fn fill(stream: &mut dyn Stream, buf: &mut BytesMut) -> io::Result<bool> {
    let mut chunk = [0u8; 4096];
    match stream.read(&mut chunk) {
        Ok(0) => Err(io::Error::other("the broker closed the connection")),
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(true)
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// One connection for one QoS 1 message: connect, publish, wait for the
/// acknowledgement, disconnect. For boxes that hold no connection (the
/// simulator's thousands).
pub fn publish_once(
    broker: &Broker,
    device_id: &str,
    credential: &str,
    topic: &str,
    payload: &[u8],
    timeout: Duration,
) -> io::Result<()> {
    let deadline = Instant::now() + timeout;
    let mut stream = connect(broker, device_id, credential)?;
    let stream = stream.as_mut();
    let mut buf = BytesMut::with_capacity(256);
    loop {
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no answer from the broker",
            ));
        }
        fill(stream, &mut buf)?;
        match Packet::read(&mut buf, MAX_PACKET) {
            Ok(Packet::ConnAck(ack)) if ack.code == ConnectReturnCode::Success => {
                let mut p = Publish::new(topic, QoS::AtLeastOnce, payload.to_vec());
                p.pkid = 1;
                send(stream, Packet::Publish(p))?;
            }
            Ok(Packet::ConnAck(ack)) => {
                return Err(io::Error::other(format!(
                    "the broker refused: {:?}",
                    ack.code
                )))
            }
            Ok(Packet::PubAck(a)) if a.pkid == 1 => {
                let _ = send(stream, Packet::Disconnect);
                return Ok(());
            }
            Ok(_) | Err(CodecError::InsufficientBytes(_)) => {}
            Err(e) => return Err(io::Error::other(format!("MQTT: {e:?}"))),
        }
    }
}

/// What the thread shares with the service.
struct Thread {
    wake: Sender<()>,
    stop: Arc<AtomicBool>,
    requests: Receiver<Request>,
    connected: Arc<AtomicBool>,
}

/// One connection: connect, subscribe, wake on nudges, publish what the
/// service asks, ping to stay alive.
fn session(broker: &Broker, device_id: &str, credential: &str, t: &Thread) -> io::Result<()> {
    let Thread {
        wake,
        stop,
        requests,
        connected,
    } = t;
    let mut stream = connect(broker, device_id, credential)?;
    let stream = stream.as_mut();
    let nudge = topic(device_id, Channel::Nudge);
    let mut buf = BytesMut::with_capacity(1024);
    let mut last_sent = Instant::now();
    let mut pinged = false;
    let mut up = false;
    // Packet ids of publishes awaiting the broker's acknowledgement (1 is
    // the subscription's).
    let mut pending: HashMap<u16, Sender<bool>> = HashMap::new();
    let mut next_pkid: u16 = 2;
    while !stop.load(Ordering::Relaxed) {
        fill(stream, &mut buf)?;
        while let Some(r) = up.then(|| requests.try_recv().ok()).flatten() {
            let mut p = Publish::new(r.topic, QoS::AtLeastOnce, r.payload);
            p.pkid = next_pkid;
            next_pkid = next_pkid.checked_add(1).unwrap_or(2);
            if send(stream, Packet::Publish(p.clone())).is_err() {
                let _ = r.done.send(false);
                return Err(io::Error::other("cannot publish"));
            }
            pending.insert(p.pkid, r.done);
            last_sent = Instant::now();
        }
        loop {
            let packet = match Packet::read(&mut buf, MAX_PACKET) {
                Ok(p) => p,
                Err(CodecError::InsufficientBytes(_)) => break,
                Err(e) => return Err(io::Error::other(format!("MQTT: {e:?}"))),
            };
            match packet {
                Packet::ConnAck(ack) if ack.code == ConnectReturnCode::Success => {
                    crate::log::info("MQTT: connected, listening for nudges");
                    up = true;
                    connected.store(true, Ordering::Relaxed);
                    let mut sub = Subscribe::new(nudge.clone(), QoS::AtLeastOnce);
                    sub.pkid = 1;
                    send(stream, Packet::Subscribe(sub))?;
                    last_sent = Instant::now();
                }
                Packet::ConnAck(ack) => {
                    return Err(io::Error::other(format!(
                        "the broker refused: {:?}",
                        ack.code
                    )))
                }
                Packet::Publish(p) => {
                    if p.qos == QoS::AtLeastOnce {
                        send(stream, Packet::PubAck(PubAck::new(p.pkid)))?;
                        last_sent = Instant::now();
                    }
                    if p.topic == nudge && wake.send(()).is_err() {
                        return Ok(());
                    }
                }
                Packet::PubAck(a) => {
                    if let Some(done) = pending.remove(&a.pkid) {
                        let _ = done.send(true);
                    }
                }
                Packet::PingResp => pinged = false,
                _ => {}
            }
        }
        if last_sent.elapsed() >= KEEP_ALIVE / 2 {
            if pinged {
                return Err(io::Error::other("the broker stopped answering"));
            }
            send(stream, Packet::PingReq)?;
            pinged = true;
            last_sent = Instant::now();
        }
    }
    let _ = send(stream, Packet::Disconnect);
    Ok(())
}

/// Listens until `stop` is set; each nudge sends `()` on `wake`; returns
/// the handle for publishing. Connection failures are retried every 15
/// seconds (the box polls meanwhile).
pub fn spawn(
    broker: Broker,
    device_id: String,
    credential: String,
    wake: Sender<()>,
    stop: Arc<AtomicBool>,
) -> Publisher {
    let (tx, requests) = mpsc::channel();
    let connected = Arc::new(AtomicBool::new(false));
    let publisher = Publisher {
        requests: tx,
        connected: Arc::clone(&connected),
    };
    let thread = Thread {
        wake,
        stop: Arc::clone(&stop),
        requests,
        connected,
    };
    let spawned = std::thread::Builder::new()
        .name("mqtt".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let ended = session(&broker, &device_id, &credential, &thread);
                thread.connected.store(false, Ordering::Relaxed);
                match ended {
                    Ok(()) => return,
                    Err(e) => crate::log::warn(&format!("MQTT: {e}; polling meanwhile")),
                }
                for _ in 0..15 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        });
    if let Err(e) = spawned {
        crate::log::warn(&format!("MQTT thread: {e}"));
    }
    publisher
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        let t = ServerTrust::system();
        let at = |url| parse_url(url, &t).map(|b| (b.host, b.port, b.tls.is_some()));
        assert_eq!(
            at("mqtt://127.0.0.1:1884"),
            Some(("127.0.0.1".into(), 1884, false))
        );
        assert_eq!(at("mqtt://broker"), Some(("broker".into(), 1883, false)));
        assert_eq!(at("mqtts://broker"), Some(("broker".into(), 8883, true)));
        assert_eq!(at("mqtts://[::1]:8884"), Some(("::1".into(), 8884, true)));
        assert_eq!(at("http://x:1"), None);
        assert_eq!(at("mqtt://:1"), None);
    }
}
