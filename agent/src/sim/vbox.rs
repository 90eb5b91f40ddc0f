//! One virtual box of the simulator: its identity, credential, trust state
//! and installed versions, and one visit of the protocol (`VBox::step`):
//! enrol, check in, download and verify, install (simulated, with the
//! fault-injection knobs), report, and send health and faults.

use std::{
    io,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use ed25519_dalek::SigningKey;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use wavecast_protocol::{
    checkin::Component,
    events::{codes, Event, EventBatch, EventBody, FaultReport, HealthReport},
    status::{InstallState, StatusReport},
    Sha256Digest,
};

use super::{serial, Counters, SimConfig};
use crate::{
    client::{Client, Identity},
    journal::refuse_offer,
    now,
    trust::Trust,
};

pub(super) struct VBox {
    pub(super) identity: Identity,
    client: Client,
    device_id: Option<String>,
    trust: Trust,
    installed: Vec<Component>,
    ended: Vec<String>,
    offline_until: Option<Instant>,
    next_health: Instant,
    pending_events: Vec<Event>,
    event_seq: u64,
    /// The broker the server named in its last answer.
    mqtt: Option<crate::nudge::Broker>,
    /// Health reports made so far.
    health_seq: u64,
    /// Crashing on the version it updated to.
    faulty: bool,
    /// Reports `SimConfig::fault` at every visit.
    reports_fault: bool,
    rng: rand_chacha::ChaCha8Rng,
}

fn key_for(seed: u64, i: usize) -> SigningKey {
    let mut h = Sha256::new();
    h.update(b"wavecast-sim-identity");
    h.update(seed.to_le_bytes());
    h.update((i as u64).to_le_bytes());
    SigningKey::from_bytes(&h.finalize().into())
}

impl VBox {
    pub(super) fn new(cfg: &SimConfig, i: usize) -> Self {
        let mut b = Self {
            identity: Identity {
                serial: serial(&cfg.serial_prefix, i),
                model: cfg.model.clone(),
                hardware_revision: cfg.revision.clone(),
                key: key_for(cfg.seed, i),
            },
            client: Client::with_trust(&cfg.server, &cfg.tls),
            device_id: None,
            trust: Trust::new(cfg.root),
            installed: cfg.installed.clone(),
            ended: Vec::new(),
            offline_until: None,
            next_health: Instant::now(),
            pending_events: Vec::new(),
            event_seq: 0,
            mqtt: None,
            health_seq: 0,
            faulty: false,
            reports_fault: false,
            rng: rand_chacha::ChaCha8Rng::seed_from_u64(
                cfg.seed ^ (i as u64).wrapping_mul(0x9e37_79b9),
            ),
        };
        if let Some((_, rate)) = &cfg.fault {
            b.reports_fault = b.rng.gen_bool(rate.clamp(0.0, 1.0));
        }
        b
    }

    pub(super) fn event(&mut self, body: EventBody) {
        self.event_seq += 1;
        self.pending_events.push(Event {
            id: format!("sim-{}-{}", now(), self.event_seq),
            body,
        });
    }

    pub(super) fn report(&self, cfg: &SimConfig, r: StatusReport) -> Result<(), String> {
        std::thread::sleep(cfg.delay);
        self.client.report(&r).map_err(|e| format!("report: {e}"))
    }

    /// One visit: returns when to come back.
    pub(super) fn step(&mut self, cfg: &SimConfig, c: &Counters) -> Result<Duration, String> {
        let t = Instant::now();
        if self.offline_until.is_some_and(|u| t < u) {
            if !cfg.telemetry.is_zero() && t >= self.next_health {
                self.next_health = t + cfg.telemetry;
                let h = self.health();
                self.event(EventBody::Health(h));
            }
            return Ok(self.offline_until.map_or(cfg.poll, |u| u - t));
        }
        self.offline_until = None;
        if self.device_id.is_none() || self.client.credential().is_none() {
            std::thread::sleep(cfg.delay);
            let a = self
                .client
                .enrol(&self.identity, now())
                .map_err(|e| format!("enrol: {e}"))?;
            self.device_id = Some(a.device_id);
            if a.credential.is_none() {
                return Ok(Duration::from_secs(
                    a.retry_after_secs.unwrap_or(5).clamp(1, 30),
                ));
            }
            c.enrolled.fetch_add(1, Ordering::Relaxed);
        }
        if cfg.offline_rate > 0.0 && self.rng.gen_bool(cfg.offline_rate.min(1.0)) {
            self.offline_until = Some(t + cfg.offline);
            return Ok(cfg.offline);
        }
        if !cfg.telemetry.is_zero() && t >= self.next_health {
            self.next_health = t + cfg.telemetry;
            let h = self.health();
            self.event(EventBody::Health(h));
        }
        if self.reports_fault {
            if let Some((code, _)) = &cfg.fault {
                let installed = self.installed.clone();
                self.event(EventBody::Fault(FaultReport {
                    at: now(),
                    code: code.clone(),
                    signature: None,
                    details: Some("simulated fault".into()),
                    installed,
                }));
            }
        }
        if self.faulty {
            let installed = self.installed.clone();
            self.event(EventBody::Fault(FaultReport {
                at: now(),
                code: "SW-APP-102".into(),
                signature: Some("crash:after-update".into()),
                details: Some("simulated crash of the main application".into()),
                installed,
            }));
        }
        if !self.pending_events.is_empty() {
            std::thread::sleep(cfg.delay);
            let batch = EventBatch {
                events: std::mem::take(&mut self.pending_events),
                dropped_total: 0,
            };
            if cfg.events_over_mqtt && self.publish(&batch) {
                let n = batch.events.len() as u64;
                c.events.fetch_add(n, Ordering::Relaxed);
                c.events_mqtt.fetch_add(n, Ordering::Relaxed);
            } else {
                self.send_https(batch, c)?;
            }
        }
        std::thread::sleep(cfg.delay);
        let nonce = Client::nonce();
        let answer = self
            .client
            .check_in(&nonce, &self.installed, None, self.trust.held_keyring(), 0)
            .map_err(|e| {
                if e.status() == Some(401) {
                    self.device_id = None;
                    self.client = Client::with_trust(&cfg.server, &cfg.tls);
                }
                format!("check-in: {e}")
            })?;
        c.checkins.fetch_add(1, Ordering::Relaxed);
        let id = self.device_id.clone().unwrap_or_default();
        let (payload, offers, _) = self
            .trust
            .verify(&answer, &id, &nonce, now())
            .map_err(|e| format!("answer refused: {e}"))?;
        self.mqtt = payload
            .mqtt_url
            .as_deref()
            .and_then(|url| crate::nudge::parse_url(url, &cfg.tls));
        let next = Duration::from_secs(payload.next_checkin_secs).min(cfg.poll);
        let Some(v) = offers.into_iter().find(|v| {
            !self
                .ended
                .contains(&format!("{}/{}", v.offer.rollout_id, v.offer.bundle_id))
        }) else {
            return Ok(next);
        };
        let key = format!("{}/{}", v.offer.rollout_id, v.offer.bundle_id);
        let report = |state, code: Option<&str>, message: Option<String>| StatusReport {
            rollout_id: v.offer.rollout_id.clone(),
            bundle_id: v.offer.bundle_id.clone(),
            state,
            progress: None,
            code: code.map(str::to_owned),
            message,
        };
        if let Some((code, message)) = refuse_offer(
            &v.manifest,
            &v.offer.artifacts,
            &self.identity.model,
            &self.identity.hardware_revision,
            &self.installed,
            v.offer.allow_downgrade,
            true,
        ) {
            self.report(cfg, report(InstallState::Failed, Some(code), Some(message)))?;
            self.ended.push(key);
            c.failed.fetch_add(1, Ordering::Relaxed);
            return Ok(next);
        }
        self.report(cfg, report(InstallState::Downloading, None, None))?;
        for art in &v.offer.artifacts {
            std::thread::sleep(cfg.delay);
            let mut body = self
                .client
                .download(&art.url, 0)
                .map_err(|e| format!("download: {e}"))?;
            let mut hasher = Sha256::new();
            let got = crate::download::stream(
                &mut body,
                &mut io::sink(),
                &mut hasher,
                0,
                art.size,
                &mut |_| {},
            )
            .map_err(|e| format!("download: {e}"))?;
            c.downloaded_bytes.fetch_add(got, Ordering::Relaxed);
            if got != art.size || Sha256Digest::from(hasher.finalize()) != art.sha256 {
                self.report(
                    cfg,
                    report(
                        InstallState::Failed,
                        Some("hash-mismatch"),
                        Some(format!("{} does not match its signed hash", art.name)),
                    ),
                )?;
                self.ended.push(key);
                c.failed.fetch_add(1, Ordering::Relaxed);
                return Ok(next);
            }
        }
        self.report(cfg, report(InstallState::Downloaded, None, None))?;
        self.report(cfg, report(InstallState::Installing, None, None))?;
        if self.rng.gen_bool(cfg.install_failure_rate.clamp(0.0, 1.0)) {
            self.report(
                cfg,
                report(
                    InstallState::Failed,
                    Some("install-failed"),
                    Some("simulated write error on the inactive slot".into()),
                ),
            )?;
            self.ended.push(key);
            c.failed.fetch_add(1, Ordering::Relaxed);
            return Ok(next);
        }
        self.report(cfg, report(InstallState::Rebooting, None, None))?;
        std::thread::sleep(cfg.reboot);
        let new = Component {
            name: v.manifest.name.clone(),
            version: v.manifest.version.clone(),
            security_version: v.manifest.security_version,
        };
        if self
            .rng
            .gen_bool(cfg.crash_after_update_rate.clamp(0.0, 1.0))
        {
            let mut with_new = self.installed.clone();
            with_new.retain(|x| x.name != new.name);
            with_new.push(new.clone());
            for _ in 0..3 {
                self.event(EventBody::Fault(FaultReport {
                    at: now(),
                    code: "SW-APP-102".into(),
                    signature: Some(format!("crash:{}-{}", new.name, new.version)),
                    details: Some(
                        "simulated crash of the main application after the update".into(),
                    ),
                    installed: with_new.clone(),
                }));
            }
            self.event(EventBody::Fault(FaultReport {
                at: now(),
                code: codes::WATCHDOG_RESET.into(),
                signature: None,
                details: None,
                installed: with_new,
            }));
            self.report(
                cfg,
                report(
                    InstallState::RolledBack,
                    Some("health-check"),
                    Some("simulated: the new firmware crashed at every boot".into()),
                ),
            )?;
            c.rolled_back.fetch_add(1, Ordering::Relaxed);
        } else {
            self.installed.retain(|x| x.name != new.name);
            self.installed.push(new);
            self.faulty = self
                .rng
                .gen_bool(cfg.faults_after_update_rate.clamp(0.0, 1.0));
            self.report(cfg, report(InstallState::Succeeded, None, None))?;
            c.succeeded.fetch_add(1, Ordering::Relaxed);
        }
        self.ended.push(key);
        // Check in again soon: the next bundle may wait.
        Ok(Duration::from_millis(100))
    }
}

impl VBox {
    /// Publishes `batch` over MQTT (one connection per message: thousands
    /// of boxes hold no sockets); true once the broker acknowledged it.
    pub(super) fn publish(&self, batch: &EventBatch) -> bool {
        let (Some(broker), Some(id), Some(cred)) =
            (&self.mqtt, &self.device_id, self.client.credential())
        else {
            return false;
        };
        let Ok(payload) = serde_json::to_vec(batch) else {
            return false;
        };
        if payload.len() > crate::nudge::MAX_EVENTS_PAYLOAD {
            return false;
        }
        crate::nudge::publish_once(
            broker,
            id,
            cred,
            &crate::nudge::events_topic(id, batch),
            &payload,
            Duration::from_secs(10),
        )
        .is_ok()
    }

    /// A health report; its `sim.report` metric counts the box's reports
    /// from 1, so what arrives can be checked against what was sent.
    pub(super) fn health(&mut self) -> HealthReport {
        self.health_seq += 1;
        let mut h = health(&mut self.rng);
        #[allow(clippy::cast_precision_loss)]
        h.metrics
            .insert("sim.report".to_owned(), self.health_seq as f64);
        h
    }

    pub(super) fn send_https(&mut self, batch: EventBatch, c: &Counters) -> Result<(), String> {
        match self.client.send_events(&batch) {
            Ok(_) => {
                c.events
                    .fetch_add(batch.events.len() as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.pending_events = batch.events;
                Err(format!("events: {e}"))
            }
        }
    }
}

fn health(rng: &mut impl Rng) -> HealthReport {
    HealthReport {
        at: now(),
        uptime_secs: Some(rng.gen_range(100..1_000_000)),
        cpu_percent: Some(rng.gen_range(1.0..60.0)),
        load1: Some(rng.gen_range(0.0..2.0)),
        mem_total_kib: Some(1_015_000),
        mem_available_kib: Some(rng.gen_range(200_000..800_000)),
        temperature_c: Some(rng.gen_range(40.0..75.0)),
        metrics: [
            (
                "player.decoder_errors".to_owned(),
                f64::from(rng.gen_range(0..3u8)),
            ),
            (
                "player.buffer_underruns".to_owned(),
                f64::from(rng.gen_range(0..5u8)),
            ),
        ]
        .into(),
        ..Default::default()
    }
}
