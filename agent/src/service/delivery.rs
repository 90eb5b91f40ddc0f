//! Delivering the queue: status reports, health and faults, as event
//! batches over MQTT when the broker acknowledges them, over HTTPS
//! otherwise (a long backlog goes over HTTPS, where over-rate means later,
//! not lost).

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use wavecast_protocol::events::{EventBatch, MAX_BATCH_EVENTS};

use super::{Agent, Stop};
use crate::{
    client::ClientError,
    log,
    outbox::{Message, Queued},
};

impl Agent {
    /// Delivers the queue: status reports in order, then events in batches.
    pub(super) fn flush(&mut self) -> Result<(), Stop> {
        if let Err(e) = self.outbox.trim() {
            log::warn(&format!("queue: {e}"));
        }
        if self.state.credential.is_none() {
            self.ensure_enrolled()?;
        }
        let pending = self
            .outbox
            .pending()
            .map_err(|e| Stop::Later(format!("queue: {e}")))?;
        let mut events = Vec::new();
        for q in pending {
            match &q.message {
                Message::Status(r) => match self.client.report(r) {
                    Ok(()) => {
                        let _ = self.outbox.remove(std::slice::from_ref(&q));
                    }
                    Err(ClientError::Refused(p)) if p.status != 401 && p.status < 500 => {
                        // The server will never take it: keep the queue moving.
                        log::warn(&format!(
                            "the server refused a report ({}): dropped",
                            p.title
                        ));
                        let _ = self.outbox.remove(std::slice::from_ref(&q));
                    }
                    Err(e) => {
                        self.drop_credential_on_401(&e);
                        return Err(Stop::Later(format!("report: {e}")));
                    }
                },
                Message::Event(_) => events.push(q),
            }
        }
        // Over MQTT first while connected, in messages under the broker's
        // packet limit; what the broker did not acknowledge goes over HTTPS.
        let events = self.publish_events(events);
        // 100 events stay well under the server's 1 MiB body limit even
        // with the longest fault details.
        for chunk in events.chunks(MAX_BATCH_EVENTS.min(100)) {
            let batch = self.batch_of(chunk);
            match self.client.send_events(&batch) {
                Ok(_) => {
                    let _ = self.outbox.remove(chunk);
                }
                Err(ClientError::Refused(p)) if p.status == 422 => {
                    log::warn(&format!(
                        "the server refused events ({}): dropped",
                        p.detail.as_deref().unwrap_or(&p.title)
                    ));
                    let _ = self.outbox.remove(chunk);
                }
                Err(e) => {
                    self.drop_credential_on_401(&e);
                    return Err(Stop::Later(format!("events: {e}")));
                }
            }
        }
        Ok(())
    }

    /// The batch that carries the queued events `chunk`.
    pub(super) fn batch_of(&self, chunk: &[Queued]) -> EventBatch {
        EventBatch {
            events: chunk
                .iter()
                .filter_map(|q| match &q.message {
                    Message::Event(e) => Some(e.clone()),
                    Message::Status(_) => None,
                })
                .collect(),
            dropped_total: self.outbox.dropped_total(),
        }
    }

    /// Publishes queued events over MQTT while the broker acknowledges
    /// them; returns those still to send.
    pub(super) fn publish_events(&mut self, mut events: Vec<Queued>) -> Vec<Queued> {
        let Some(publisher) = self.mqtt.as_ref().map(|(_, _, p)| p.clone()) else {
            return events;
        };
        let Some(id) = self.state.device_id.clone() else {
            return events;
        };
        // The server drops MQTT messages beyond a box's rate (bursts of 120
        // by default); a long backlog goes over HTTPS, where being over the
        // rate means "later", not "lost".
        const MAX_MESSAGES: usize = 10;
        let mut sent_messages = 0;
        while !events.is_empty() && publisher.is_connected() && sent_messages < MAX_MESSAGES {
            sent_messages += 1;
            // Up to 50 events, fewer when their details are long.
            let mut n = events.len().min(50);
            let (payload, topic) = loop {
                let batch = self.batch_of(&events[..n]);
                let Ok(bytes) = serde_json::to_vec(&batch) else {
                    return events;
                };
                if bytes.len() <= crate::nudge::MAX_EVENTS_PAYLOAD {
                    break (bytes, crate::nudge::events_topic(&id, &batch));
                }
                if n == 1 {
                    // Too large for MQTT: HTTPS takes it.
                    return events;
                }
                n /= 2;
            };
            if !publisher.publish(topic, payload, Duration::from_secs(10)) {
                break;
            }
            let sent: Vec<_> = events.drain(..n).collect();
            let _ = self.outbox.remove(&sent);
        }
        events
    }

    /// Listens for nudges (and publishes events) at the broker the server
    /// named, with the current credential (restarted when either changes).
    pub(super) fn ensure_mqtt(&mut self, url: Option<&str>) {
        let (Some(url), Some(cred), Some(id)) = (
            url,
            self.state.credential.clone(),
            self.state.device_id.clone(),
        ) else {
            return;
        };
        let key = format!("{url} {cred}");
        if self.mqtt.as_ref().is_some_and(|(k, _, _)| *k == key) {
            return;
        }
        if let Some((_, stop, _)) = self.mqtt.take() {
            stop.store(true, Ordering::Relaxed);
        }
        let Some(broker) = crate::nudge::parse_url(url, &self.tls) else {
            log::warn(&format!("MQTT: cannot use {url}"));
            return;
        };
        let stop = Arc::new(AtomicBool::new(false));
        let publisher =
            crate::nudge::spawn(broker, id, cred, self.nudges.0.clone(), Arc::clone(&stop));
        self.mqtt = Some((key, stop, publisher));
    }
}
