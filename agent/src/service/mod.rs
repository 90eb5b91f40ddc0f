//! `wavecast-agent run`: the service. One thread does the work in a loop:
//! check in when due (or when an MQTT nudge arrives), carry an update
//! through its journalled steps, sample health, look for faults and deliver
//! the queue. A second thread only listens for nudges.
//!
//! On start it first settles what the last run left: the boot's faults,
//! then the update in the journal (resuming a download, redoing an
//! install, or judging a new slot after a reboot).
//!
//! The loop's parts: [`checkin`] (enrolment and check-in), [`update`] (an
//! offer's journalled steps: download, install, reboot, confirm or fall
//! back) and [`delivery`] (the queue, over MQTT or HTTPS).

mod checkin;
mod delivery;
mod update;

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc, Arc,
    },
    time::{Duration, Instant},
};

use ed25519_dalek::SigningKey;
use wavecast_protocol::{
    checkin::Component, events::EventBody, keyring::verify_keyring, keys::PrivateKeyFile,
};

use crate::{
    client::{Client, Identity},
    config::Config,
    faults::{self, BootRecord},
    health::Sampler,
    journal::State,
    log, now,
    outbox::Outbox,
    tls::ServerTrust,
    trust::Trust,
};

/// Loads the identity key, creating it (mode 0600) on first start.
pub fn identity_key(path: &Path) -> Result<SigningKey, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => PrivateKeyFile::parse(&text)
            .map(|(k, _)| k)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            let json = serde_json::to_vec(&PrivateKeyFile::new(&key, "identity"))
                .map_err(|e| e.to_string())?;
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            use std::{io::Write, os::unix::fs::OpenOptionsExt};
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            f.write_all(&json)
                .and_then(|()| f.sync_all())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            log::info(&format!("created the identity key {}", path.display()));
            Ok(key)
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// What ends a pass of work early.
enum Stop {
    /// The server is out of reach (or refused for now): try again later.
    Later(String),
}

/// The running service.
pub struct Agent {
    cfg: Config,
    state: State,
    client: Client,
    /// Which CAs the server's certificate may chain to.
    tls: ServerTrust,
    identity: Identity,
    trust: Trust,
    outbox: Outbox,
    sampler: Sampler,
    staging: PathBuf,
    boot_id: String,
    next_checkin: Instant,
    retry: Duration,
    next_health: Instant,
    next_flush: Instant,
    next_crash_scan: Instant,
    mqtt: Option<(String, Arc<AtomicBool>, crate::nudge::Publisher)>,
    nudges: (mpsc::Sender<()>, mpsc::Receiver<()>),
    term: Arc<AtomicBool>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("device_id", &self.state.device_id)
            .finish_non_exhaustive()
    }
}

fn read_boot_id(cfg: &Config) -> String {
    let path = cfg.firmware.as_ref().map_or_else(
        || PathBuf::from("/proc/sys/kernel/random/boot_id"),
        |f| f.boot_id_file.clone(),
    );
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

impl Agent {
    /// Opens the state directory, the queue and the identity.
    pub fn open(cfg: Config) -> Result<Self, String> {
        let err = |what: &str, e: std::io::Error| format!("{what}: {e}");
        std::fs::create_dir_all(&cfg.state_dir).map_err(|e| err("state_dir", e))?;
        let outbox = Outbox::open(&cfg.state_dir.join("queue"), cfg.faults.queue_max_events)
            .map_err(|e| err("queue", e))?;
        let state = State::load(&cfg.state_dir).map_err(|e| err("journal", e))?;
        let key = identity_key(&cfg.identity_key)?;
        let identity = Identity {
            serial: cfg.serial()?,
            model: cfg.device.model.clone(),
            hardware_revision: cfg.device.hardware_revision.clone(),
            key,
        };
        let root = cfg.root_key()?;
        let mut trust = Trust::new(root);
        if let Some(env) = &state.keyring {
            // Re-verified at every start; an expired one is simply fetched again.
            trust.keyring = verify_keyring(&root, env, now(), 0).ok();
        }
        let tls = ServerTrust::from_ca_file(cfg.ca_file.as_deref())?;
        let mut client = Client::with_trust(&cfg.server, &tls);
        if let Some(c) = &state.credential {
            client = client.with_credential(c);
        }
        let sampler = Sampler::new(cfg.telemetry.clone(), cfg.collectors.clone());
        let now_i = Instant::now();
        Ok(Self {
            staging: cfg.state_dir.join("staging"),
            boot_id: read_boot_id(&cfg),
            retry: Duration::from_secs(cfg.poll.retry_secs),
            cfg,
            state,
            client,
            tls,
            identity,
            trust,
            outbox,
            sampler,
            next_checkin: now_i,
            next_health: now_i,
            next_flush: now_i,
            next_crash_scan: now_i,
            mqtt: None,
            nudges: mpsc::channel(),
            term: Arc::new(AtomicBool::new(false)),
        })
    }

    fn save(&self) -> Result<(), String> {
        self.state
            .save(&self.cfg.state_dir)
            .map_err(|e| format!("cannot write the journal: {e}"))
    }

    fn installed(&self) -> Vec<Component> {
        self.state.installed(&self.cfg.installed)
    }

    /// Runs until SIGTERM or SIGINT.
    pub fn run(mut self) -> Result<(), String> {
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register(sig, Arc::clone(&self.term))
                .map_err(|e| format!("signal handler: {e}"))?;
        }
        faults::install_panic_hook(self.outbox.clone());
        self.settle_boot()?;
        log::info(&format!(
            "agent {} on {} running as {} (serial {}), server {} trusting {}",
            crate::AGENT_VERSION,
            std::env::consts::ARCH,
            self.state
                .device_id
                .as_deref()
                .unwrap_or("(not enrolled yet)"),
            self.identity.serial,
            self.cfg.server,
            self.tls
        ));
        if let Some(job) = self.state.job.clone() {
            log::info(&format!(
                "resuming {} {} at step {}",
                job.manifest.name,
                job.manifest.version,
                job.step.name()
            ));
            self.advance();
        }
        while !self.term.load(Ordering::Relaxed) {
            self.tick();
            let wake = [
                self.next_checkin,
                self.next_health,
                self.next_flush,
                self.next_crash_scan,
            ]
            .into_iter()
            .min()
            .unwrap_or_else(Instant::now);
            let wait = wake
                .saturating_duration_since(Instant::now())
                .min(Duration::from_secs(1));
            if self.nudges.1.recv_timeout(wait).is_ok() {
                log::info("nudged: checking in now");
                self.next_checkin = Instant::now();
            }
        }
        self.state.boot = Some(BootRecord {
            boot_id: self.boot_id.clone(),
            clean_stop: true,
        });
        self.save()?;
        log::info("stopped");
        Ok(())
    }

    /// Queues what the previous boot left behind and records this boot.
    fn settle_boot(&mut self) -> Result<(), String> {
        let installed = self.installed();
        faults::scan_boot(
            &self.cfg.faults,
            self.state.boot.as_ref(),
            &self.boot_id,
            now(),
            &installed,
            &self.outbox,
        )
        .map_err(|e| format!("fault scan: {e}"))?;
        self.state.boot = Some(BootRecord {
            boot_id: self.boot_id.clone(),
            clean_stop: false,
        });
        self.save()
    }

    /// One pass of whatever is due.
    pub fn tick(&mut self) {
        let t = Instant::now();
        if t >= self.next_crash_scan {
            self.next_crash_scan = t + Duration::from_secs(10);
            if let Some(dir) = self.cfg.faults.crash_dir.clone() {
                let installed = self.installed();
                match faults::scan_crash_dir(
                    &dir,
                    &self.state.crash_dumps_seen,
                    now(),
                    &installed,
                    &self.outbox,
                ) {
                    Ok(seen) if seen != self.state.crash_dumps_seen => {
                        self.state.crash_dumps_seen = seen;
                        let _ = self.save();
                        self.next_flush = t;
                    }
                    Ok(_) => {}
                    Err(e) => log::warn(&format!("crash dumps: {e}")),
                }
            }
        }
        if self.cfg.telemetry.interval_secs > 0 && t >= self.next_health {
            self.next_health = t + Duration::from_secs(self.cfg.telemetry.interval_secs);
            let report = self.sampler.sample(now());
            if let Err(e) = self.outbox.push_event(EventBody::Health(report)) {
                log::warn(&format!("queue: {e}"));
            }
            self.next_flush = t;
        }
        if t >= self.next_checkin {
            match self.check_in_and_act() {
                Ok(()) => {
                    self.retry = Duration::from_secs(self.cfg.poll.retry_secs);
                    self.state.last_error = None;
                }
                Err(Stop::Later(why)) => {
                    log::warn(&format!("{why}; next try in {} s", self.retry.as_secs()));
                    self.next_checkin = Instant::now() + self.retry;
                    self.retry = (self.retry * 2).min(Duration::from_secs(self.cfg.poll.max_secs));
                    self.state.last_error = Some(why);
                }
            }
            self.next_flush = Instant::now();
        }
        if Instant::now() >= self.next_flush {
            self.next_flush = match self.flush() {
                Ok(()) => Instant::now() + Duration::from_secs(self.cfg.poll.max_secs),
                Err(Stop::Later(why)) => {
                    log::warn(&format!("queue kept for later: {why}"));
                    Instant::now() + Duration::from_secs(self.cfg.poll.retry_secs)
                }
            };
        }
    }
}

/// `wavecast-agent status`: what the journal and the queue say.
pub fn status_text(cfg: &Config) -> Result<String, String> {
    let state = State::load(&cfg.state_dir).map_err(|e| format!("journal: {e}"))?;
    let outbox = Outbox::open(&cfg.state_dir.join("queue"), cfg.faults.queue_max_events)
        .map_err(|e| format!("queue: {e}"))?;
    let mut out = String::new();
    let line = |out: &mut String, k: &str, v: &str| out.push_str(&format!("{k:<14} {v}\n"));
    line(
        &mut out,
        "device",
        state.device_id.as_deref().unwrap_or("not enrolled"),
    );
    line(&mut out, "server", &cfg.server);
    line(
        &mut out,
        "last check-in",
        &state
            .last_checkin_at
            .map_or("never".into(), |t| format!("{} s ago", now() - t)),
    );
    for c in state.installed(&cfg.installed) {
        line(
            &mut out,
            "installed",
            &format!("{} {} (security {})", c.name, c.version, c.security_version),
        );
    }
    match &state.job {
        Some(j) => line(
            &mut out,
            "update",
            &format!(
                "{} {} at step {} (rollout {})",
                j.manifest.name,
                j.manifest.version,
                j.step.name(),
                j.rollout_id
            ),
        ),
        None => line(&mut out, "update", "none"),
    }
    line(
        &mut out,
        "queue",
        &format!(
            "{} waiting, {} dropped over the box's life",
            outbox.len().unwrap_or(0),
            outbox.dropped_total()
        ),
    );
    if let Some(e) = &state.last_error {
        line(&mut out, "last error", e);
    }
    Ok(out)
}
