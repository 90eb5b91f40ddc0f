//! Nudges over MQTT: a thread subscribed to the box's own `nudge` topic
//! that wakes the service to check in at once. A nudge carries nothing to
//! trust: the check-in that follows is signed as always. When the broker is
//! out of reach the box simply keeps polling.

use std::{
    io::{self, Read, Write},
    net::TcpStream,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc::Sender,
        Arc,
    },
    time::{Duration, Instant},
};

use bytes::BytesMut;
// The MQTT 3.1.1 packet codec of `rumqttc` (the crate the server uses),
// driven over a blocking socket: its event loop would bring a tokio runtime
// into the box's 2 MB size budget for one subscription.
use rumqttc::mqttbytes::{
    v4::{Connect, ConnectReturnCode, Login, Packet, PubAck, Subscribe},
    Error as CodecError, QoS,
};
use wavecast_protocol::mqtt::{topic, Channel};

const MAX_PACKET: usize = 16 * 1024;
const KEEP_ALIVE: Duration = Duration::from_secs(120);

/// `mqtt://host:port` → (host, port).
pub fn parse_url(url: &str) -> Option<(String, u16)> {
    let rest = url.strip_prefix("mqtt://")?;
    let rest = rest.split('/').next()?;
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (rest, 1883),
    };
    (!host.is_empty()).then(|| (host.trim_matches(['[', ']']).to_owned(), port))
}

fn send(stream: &mut TcpStream, packet: Packet) -> io::Result<()> {
    let mut buf = BytesMut::with_capacity(256);
    packet
        .write(&mut buf, MAX_PACKET)
        .map_err(|e| io::Error::other(format!("MQTT encode: {e:?}")))?;
    stream.write_all(&buf)
}

/// One connection: connect, subscribe, wake on nudges, ping to stay alive.
fn session(
    host: &str,
    port: u16,
    device_id: &str,
    credential: &str,
    wake: &Sender<()>,
    stop: &AtomicBool,
) -> io::Result<()> {
    let mut stream = TcpStream::connect((host, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    let mut connect = Connect::new(device_id);
    connect.keep_alive = KEEP_ALIVE.as_secs() as u16;
    connect.clean_session = true;
    connect.login = Some(Login::new(device_id, credential));
    send(&mut stream, Packet::Connect(connect))?;
    let nudge = topic(device_id, Channel::Nudge);
    let mut buf = BytesMut::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let mut last_sent = Instant::now();
    let mut pinged = false;
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut chunk) {
            Ok(0) => return Err(io::Error::other("the broker closed the connection")),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
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
                    let mut sub = Subscribe::new(nudge.clone(), QoS::AtLeastOnce);
                    sub.pkid = 1;
                    send(&mut stream, Packet::Subscribe(sub))?;
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
                        send(&mut stream, Packet::PubAck(PubAck::new(p.pkid)))?;
                        last_sent = Instant::now();
                    }
                    if p.topic == nudge && wake.send(()).is_err() {
                        return Ok(());
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
            send(&mut stream, Packet::PingReq)?;
            pinged = true;
            last_sent = Instant::now();
        }
    }
    let _ = send(&mut stream, Packet::Disconnect);
    Ok(())
}

/// Listens until `stop` is set; each nudge sends `()` on `wake`. Connection
/// failures are retried every 15 seconds (the box polls meanwhile).
pub fn spawn(
    host: String,
    port: u16,
    device_id: String,
    credential: String,
    wake: Sender<()>,
    stop: Arc<AtomicBool>,
) {
    let spawned = std::thread::Builder::new()
        .name("mqtt-nudges".into())
        .stack_size(128 * 1024)
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match session(&host, port, &device_id, &credential, &wake, &stop) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        assert_eq!(
            parse_url("mqtt://127.0.0.1:1884"),
            Some(("127.0.0.1".into(), 1884))
        );
        assert_eq!(parse_url("mqtt://broker"), Some(("broker".into(), 1883)));
        assert_eq!(parse_url("http://x:1"), None);
        assert_eq!(parse_url("mqtt://:1"), None);
    }
}
