//! `wavecast-agent simulate`: many virtual boxes in one process against a
//! real server: the load generator and the operator's test lab.
//!
//! Each virtual box has its own identity key (derived from the seed and its
//! index, so a rerun is the same fleet), credential, trust state and
//! installed versions, and speaks the real protocol through the same
//! [`Client`], [`Trust`] and offer rule ([`refuse_offer`]) as the service.
//! It downloads and verifies every artifact (hashing into nothing instead of
//! a slot) and reports every state. Its installer and reboot are simulated,
//! with fault-injection knobs: install failures, crashes after an update
//! (the new slot fails and rolls back, with a crash fault), boxes that stay
//! on the new version but keep crashing (what a health gate must catch),
//! offline periods and network delay. Health and faults go over HTTPS, or
//! over MQTT to the broker the server names (`--events-over mqtt`; one
//! short connection per message, HTTPS when the broker does not answer).
//!
//! Boxes are shared out over a fixed number of worker threads; each thread
//! serves its boxes in the order they fall due. One box and its protocol
//! are [`vbox`].

mod vbox;

use vbox::VBox;

use std::{
    cmp::Reverse,
    collections::BinaryHeap,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use ed25519_dalek::VerifyingKey;
use wavecast_protocol::checkin::Component;

use crate::tls::ServerTrust;

/// The simulator's knobs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub server: String,
    /// Which CAs the server's certificate may chain to.
    pub tls: ServerTrust,
    pub root: VerifyingKey,
    pub devices: usize,
    /// An operator token: the serials are pre-authorised through the API.
    pub token: Option<String>,
    pub serial_prefix: String,
    pub model: String,
    pub revision: String,
    pub installed: Vec<Component>,
    /// Check in this often at most, whatever the server says.
    pub poll: Duration,
    pub threads: usize,
    /// Share of installs that fail.
    pub install_failure_rate: f64,
    /// Share of updated boxes whose new firmware crashes and rolls back.
    pub crash_after_update_rate: f64,
    /// Share of updated boxes that stay on the new version but report a
    /// software fault at every visit from then on.
    pub faults_after_update_rate: f64,
    /// A fault code and the share of boxes that report it at every visit
    /// (a hardware fault, say, to exercise ticketing).
    pub fault: Option<(String, f64)>,
    /// Send health and faults over MQTT (the broker the server names),
    /// falling back to HTTPS when it does not acknowledge.
    pub events_over_mqtt: bool,
    /// Chance per check-in that a box drops offline for `offline`.
    pub offline_rate: f64,
    pub offline: Duration,
    /// Added before every request.
    pub delay: Duration,
    /// Send a health report this often (none when zero).
    pub telemetry: Duration,
    /// Simulated time a reboot takes.
    pub reboot: Duration,
    pub seed: u64,
    /// Stop when this many updates have ended (succeeded, failed or rolled back).
    pub expect_updates: Option<u64>,
    /// Stop after this long in any case.
    pub duration: Duration,
}

/// What the fleet did.
#[derive(Debug, Default)]
pub struct Counters {
    pub enrolled: AtomicU64,
    pub checkins: AtomicU64,
    pub downloaded_bytes: AtomicU64,
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub rolled_back: AtomicU64,
    pub errors: AtomicU64,
    pub events: AtomicU64,
    /// Of `events`, those the broker acknowledged over MQTT.
    pub events_mqtt: AtomicU64,
}

impl Counters {
    pub fn ended(&self) -> u64 {
        self.succeeded.load(Ordering::Relaxed)
            + self.failed.load(Ordering::Relaxed)
            + self.rolled_back.load(Ordering::Relaxed)
    }

    pub fn line(&self) -> String {
        format!(
            "enrolled {} · check-ins {} · downloaded {} MiB · succeeded {} · failed {} · rolled back {} · events {} ({} over MQTT) · errors {}",
            self.enrolled.load(Ordering::Relaxed),
            self.checkins.load(Ordering::Relaxed),
            self.downloaded_bytes.load(Ordering::Relaxed) >> 20,
            self.succeeded.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            self.rolled_back.load(Ordering::Relaxed),
            self.events.load(Ordering::Relaxed),
            self.events_mqtt.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}

/// The serial of virtual box `i`.
pub fn serial(prefix: &str, i: usize) -> String {
    format!("{prefix}{i:06}")
}

/// Pre-authorises the fleet's serials with an operator token.
pub fn preauthorise(cfg: &SimConfig, token: &str) -> Result<(), String> {
    let csv: String = std::iter::once("serial,model".to_owned())
        .chain((0..cfg.devices).map(|i| format!("{},{}", serial(&cfg.serial_prefix, i), cfg.model)))
        .collect::<Vec<_>>()
        .join("\n");
    // Through the same trust as the boxes' own requests.
    cfg.tls
        .apply(ureq::AgentBuilder::new())
        .build()
        .post(&format!(
            "{}/api/v1/devices/import",
            cfg.server.trim_end_matches('/')
        ))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "text/csv")
        .send_string(&csv)
        .map_err(|e| format!("pre-authorising the serials: {e}"))?;
    Ok(())
}

/// Runs the fleet until `expect_updates` updates have ended, `duration`
/// has passed or `stop` is set; prints progress every few seconds.
pub fn run(cfg: SimConfig, stop: Arc<AtomicBool>) -> Result<Arc<Counters>, String> {
    if let Some(t) = &cfg.token {
        preauthorise(&cfg, t)?;
    }
    let counters = Arc::new(Counters::default());
    let threads = cfg.threads.clamp(1, cfg.devices.max(1));
    let cfg = Arc::new(cfg);
    let started = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let mut handles = Vec::new();
    for t in 0..threads {
        let (cfg, c, done, stop) = (
            Arc::clone(&cfg),
            Arc::clone(&counters),
            Arc::clone(&done),
            Arc::clone(&stop),
        );
        let h = std::thread::Builder::new()
            .name(format!("sim-{t}"))
            .stack_size(512 * 1024)
            .spawn(move || {
                let mut boxes: Vec<VBox> = (t..cfg.devices)
                    .step_by(threads)
                    .map(|i| VBox::new(&cfg, i))
                    .collect();
                // Spread the first check-ins over a second.
                let mut due: BinaryHeap<Reverse<(Instant, usize)>> = (0..boxes.len())
                    .map(|k| {
                        Reverse((
                            Instant::now()
                                + Duration::from_millis(
                                    (k as u64 * 1000) / boxes.len().max(1) as u64,
                                ),
                            k,
                        ))
                    })
                    .collect();
                while !done.load(Ordering::Relaxed) && !stop.load(Ordering::Relaxed) {
                    let Some(Reverse((at, k))) = due.pop() else {
                        return;
                    };
                    let wait = at.saturating_duration_since(Instant::now());
                    if !wait.is_zero() {
                        std::thread::sleep(wait.min(Duration::from_millis(200)));
                        if Instant::now() < at {
                            due.push(Reverse((at, k)));
                            continue;
                        }
                    }
                    let next = match boxes[k].step(&cfg, &c) {
                        Ok(d) => d,
                        Err(e) => {
                            if c.errors.fetch_add(1, Ordering::Relaxed) < 20 {
                                crate::log::warn(&format!("{}: {e}", boxes[k].identity.serial));
                            }
                            Duration::from_secs(2)
                        }
                    };
                    due.push(Reverse((Instant::now() + next, k)));
                }
            })
            .map_err(|e| format!("thread: {e}"))?;
        handles.push(h);
    }
    let mut last_print = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let reached = cfg.expect_updates.is_some_and(|n| counters.ended() >= n);
        let over = started.elapsed() >= cfg.duration || stop.load(Ordering::Relaxed);
        if last_print.elapsed() >= Duration::from_secs(5) || reached || over {
            last_print = Instant::now();
            println!(
                "[{:>6.1} s] {}",
                started.elapsed().as_secs_f64(),
                counters.line()
            );
        }
        if reached || over {
            break;
        }
    }
    done.store(true, Ordering::Relaxed);
    for h in handles {
        let _ = h.join();
    }
    let checkins = counters.checkins.load(Ordering::Relaxed);
    if checkins == 0 && cfg.devices > 0 {
        return Err(format!(
            "no box could check in ({} errors, the first ones above): the fleet did not run; {}",
            counters.errors.load(Ordering::Relaxed),
            counters.line()
        ));
    }
    if let Some(n) = cfg.expect_updates {
        if counters.ended() < n {
            return Err(format!(
                "only {} of the {n} expected updates ended within {} s",
                counters.ended(),
                cfg.duration.as_secs()
            ));
        }
    }
    println!(
        "done in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        counters.line()
    );
    Ok(counters)
}
