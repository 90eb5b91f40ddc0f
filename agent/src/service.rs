//! `wavecast-agent run`: the service. One thread does the work in a loop:
//! check in when due (or when an MQTT nudge arrives), carry an update
//! through its journalled steps, sample health, look for faults and deliver
//! the queue. A second thread only listens for nudges.
//!
//! On start it first settles what the last run left: the boot's faults,
//! then the update in the journal (resuming a download, redoing an
//! install, or judging a new slot after a reboot).

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
    checkin::Component,
    events::{EventBatch, EventBody, MAX_BATCH_EVENTS},
    keyring::verify_keyring,
    keys::PrivateKeyFile,
    manifest::Kind,
    status::{InstallState, StatusReport},
};

use crate::{
    client::{Client, ClientError, Identity},
    config::Config,
    crash_point,
    download::{self, DownloadError},
    faults::{self, BootRecord},
    health::Sampler,
    install::{ab, dirs},
    journal::{offer_key, refuse_offer, Job, State, Step},
    log, now,
    outbox::{Message, Outbox, Queued},
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

    /// Enrols when the box has no working credential.
    fn ensure_enrolled(&mut self) -> Result<(), Stop> {
        let fresh = self.state.credential.is_some()
            && self
                .state
                .credential_expires_at
                .is_none_or(|t| t > now() + 60);
        if fresh {
            return Ok(());
        }
        let answer = self
            .client
            .enrol(&self.identity, now())
            .map_err(|e| Stop::Later(format!("enrolment: {e}")))?;
        self.state.device_id = Some(answer.device_id.clone());
        match answer.credential {
            Some(c) => {
                self.state.credential = Some(c);
                self.state.credential_expires_at = answer.credential_expires_at;
                let _ = self.save();
                log::info(&format!("enrolled as {}", answer.device_id));
                Ok(())
            }
            None => {
                let _ = self.save();
                let wait = answer.retry_after_secs.unwrap_or(self.cfg.poll.retry_secs);
                self.retry = Duration::from_secs(wait.max(self.cfg.poll.min_secs));
                Err(Stop::Later(format!(
                    "enrolment of {} is pending an operator's approval",
                    answer.device_id
                )))
            }
        }
    }

    /// Forgets a credential the server no longer takes.
    fn drop_credential_on_401(&mut self, e: &ClientError) {
        if e.status() == Some(401) {
            self.state.credential = None;
            self.client = Client::with_trust(&self.cfg.server, &self.tls);
            let _ = self.save();
        }
    }

    /// Checks in and verifies the answer; returns the verified offers.
    fn check_in(&mut self) -> Result<Vec<crate::trust::VerifiedOffer>, Stop> {
        self.ensure_enrolled()?;
        let nonce = Client::nonce();
        let installed = self.installed();
        let answer = match self.client.check_in(
            &nonce,
            &installed,
            self.cfg.timezone.as_deref(),
            self.trust.held_keyring(),
        ) {
            Ok(a) => a,
            Err(e) => {
                self.drop_credential_on_401(&e);
                return Err(Stop::Later(format!("check-in: {e}")));
            }
        };
        let device_id = self.state.device_id.clone().unwrap_or_default();
        let (payload, offers, _) = self
            .trust
            .verify(&answer, &device_id, &nonce, now())
            .map_err(|e| Stop::Later(format!("refused the server's answer: {e}")))?;
        if let Some(env) = answer.keyring {
            self.state.keyring = Some(env);
        }
        self.state.last_checkin_at = Some(now());
        let _ = self.save();
        let secs = payload
            .next_checkin_secs
            .clamp(self.cfg.poll.min_secs, self.cfg.poll.max_secs);
        self.next_checkin = Instant::now() + Duration::from_secs(secs);
        if self.cfg.mqtt.enabled {
            self.ensure_mqtt(payload.mqtt_url.as_deref());
        }
        Ok(offers)
    }

    fn check_in_and_act(&mut self) -> Result<(), Stop> {
        let offers = self.check_in()?;
        if self.state.job.is_some() {
            // An update is under way (waiting for a download to resume).
            self.advance();
            return Ok(());
        }
        let installed = self.installed();
        for v in offers {
            let key = offer_key(&v.offer.rollout_id, &v.offer.bundle_id);
            if self.state.ended.contains(&key) {
                continue;
            }
            let can_install = match v.manifest.kind {
                Kind::Firmware => self.cfg.firmware.is_some(),
                _ => self.cfg.directories.is_some(),
            };
            if let Some((code, message)) = refuse_offer(
                &v.manifest,
                &v.offer.artifacts,
                &self.identity.model,
                &self.identity.hardware_revision,
                &installed,
                v.offer.allow_downgrade,
                can_install,
            ) {
                log::warn(&format!("refused {}: {message}", v.offer.bundle_id));
                self.report_end(
                    &v.offer.rollout_id,
                    &v.offer.bundle_id,
                    InstallState::Failed,
                    Some(code),
                    &message,
                );
                self.state.mark_ended(key);
                let _ = self.save();
                continue;
            }
            log::info(&format!(
                "update offered: {} {} (rollout {})",
                v.manifest.name, v.manifest.version, v.offer.rollout_id
            ));
            self.queue(
                &v.offer.rollout_id,
                &v.offer.bundle_id,
                InstallState::Downloading,
                None,
                None,
            );
            self.state.job = Some(Job {
                rollout_id: v.offer.rollout_id.clone(),
                bundle_id: v.offer.bundle_id.clone(),
                manifest: v.manifest,
                artifacts: v.offer.artifacts,
                step: Step::Downloading,
                started_at: now(),
            });
            self.save().map_err(Stop::Later)?;
            crash_point("downloading");
            self.advance();
            // One update per check-in: the next one is offered again.
            break;
        }
        Ok(())
    }

    /// Queues a status report.
    fn queue(
        &self,
        rollout: &str,
        bundle: &str,
        state: InstallState,
        code: Option<&str>,
        message: Option<&str>,
    ) {
        let r = StatusReport {
            rollout_id: rollout.to_owned(),
            bundle_id: bundle.to_owned(),
            state,
            progress: None,
            code: code.map(str::to_owned),
            message: message.map(|m| crate::install::truncate(m, 1000).to_owned()),
        };
        if let Err(e) = self.outbox.push_status(&r) {
            log::warn(&format!("cannot queue a report: {e}"));
        }
    }

    fn report_end(
        &self,
        rollout: &str,
        bundle: &str,
        state: InstallState,
        code: Option<&str>,
        message: &str,
    ) {
        self.queue(rollout, bundle, state, code, Some(message));
    }

    /// Ends the job with a final report.
    fn finish(&mut self, state: InstallState, code: Option<&str>, message: &str) {
        let Some(job) = self.state.job.take() else {
            return;
        };
        match state {
            InstallState::Succeeded => log::info(&format!(
                "{} {} installed",
                job.manifest.name, job.manifest.version
            )),
            _ => log::warn(&format!(
                "{} {} {}: {message}",
                job.manifest.name,
                job.manifest.version,
                state.as_str()
            )),
        }
        self.report_end(&job.rollout_id, &job.bundle_id, state, code, message);
        self.state
            .mark_ended(offer_key(&job.rollout_id, &job.bundle_id));
        if let Err(e) = self.save() {
            log::warn(&e);
        }
        let _ = download::clean(&self.staging, &[]);
        self.next_flush = Instant::now();
    }

    /// Moves the job forward as far as it can go now.
    pub fn advance(&mut self) {
        while let Some(job) = self.state.job.clone() {
            let next = match &job.step {
                Step::Downloading => self.download(&job),
                Step::Downloaded => {
                    self.queue(
                        &job.rollout_id,
                        &job.bundle_id,
                        InstallState::Installing,
                        None,
                        None,
                    );
                    Ok(Some(Step::Installing))
                }
                Step::Installing => self.install(&job),
                Step::Rebooting { .. } | Step::FallingBack { .. } => self.after_reboot(&job),
            };
            match next {
                Ok(Some(step)) => {
                    let name = step.name();
                    if let Some(j) = self.state.job.as_mut() {
                        j.step = step;
                    }
                    if let Err(e) = self.save() {
                        log::warn(&e);
                        return;
                    }
                    crash_point(name);
                }
                // Finished, or waiting (for the network or a reboot).
                Ok(None) => return,
                Err(Stop::Later(why)) => {
                    log::warn(&format!("update paused: {why}"));
                    self.next_checkin = Instant::now() + self.retry;
                    return;
                }
            }
        }
    }

    fn staged(&self, job: &Job) -> impl Fn(&str) -> Option<PathBuf> {
        let staging = self.staging.clone();
        let arts = job.manifest.artifacts.clone();
        move |name: &str| {
            arts.iter()
                .find(|a| a.name == name)
                .map(|a| download::staged_path(&staging, &a.sha256))
                .filter(|p| p.is_file())
        }
    }

    fn download(&mut self, job: &Job) -> Result<Option<Step>, Stop> {
        let total: u64 = job.artifacts.iter().map(|a| a.size).sum::<u64>().max(1);
        let mut before = 0u64;
        let keep: Vec<_> = job.artifacts.iter().map(|a| a.sha256).collect();
        let _ = download::clean(&self.staging, &keep);
        for art in &job.artifacts {
            let mut last_pct = 0u8;
            let client = self.client.clone();
            let (rollout, bundle) = (job.rollout_id.clone(), job.bundle_id.clone());
            let mut progress = |done: u64| {
                let pct = (((before + done) * 100) / total).min(99) as u8;
                if pct >= last_pct.saturating_add(10) {
                    last_pct = pct;
                    // Progress is a courtesy: sent now or never, not queued.
                    let _ = client.report(&StatusReport {
                        rollout_id: rollout.clone(),
                        bundle_id: bundle.clone(),
                        state: InstallState::Downloading,
                        progress: Some(pct),
                        code: None,
                        message: None,
                    });
                }
            };
            match download::fetch(&self.client, art, &self.staging, &mut progress) {
                Ok(_) => {}
                Err(DownloadError::Interrupted(e)) => {
                    self.drop_credential_on_401(&e);
                    return Err(Stop::Later(format!("download of {}: {e}", art.name)));
                }
                Err(DownloadError::Refused { code, message }) => {
                    self.finish(InstallState::Failed, Some(code), &message);
                    return Ok(None);
                }
                Err(DownloadError::Io(e)) => {
                    self.finish(InstallState::Failed, Some("staging-io"), &e.to_string());
                    return Ok(None);
                }
            }
            before += art.size;
        }
        self.queue(
            &job.rollout_id,
            &job.bundle_id,
            InstallState::Downloaded,
            None,
            None,
        );
        Ok(Some(Step::Downloaded))
    }

    fn install(&mut self, job: &Job) -> Result<Option<Step>, Stop> {
        let staged = self.staged(job);
        let component = Component {
            name: job.manifest.name.clone(),
            version: job.manifest.version.clone(),
            security_version: job.manifest.security_version,
        };
        if job.manifest.kind != Kind::Firmware {
            let Some(dcfg) = self.cfg.directories.clone() else {
                self.finish(
                    InstallState::Failed,
                    Some("unsupported-kind"),
                    "no directory installer",
                );
                return Ok(None);
            };
            let switched = match dirs::install(&dcfg.root, &job.manifest, &staged) {
                Ok(s) => s,
                Err(e) => {
                    self.finish(InstallState::Failed, Some("install-failed"), &e);
                    return Ok(None);
                }
            };
            if let Some(cmd) = &dcfg.health_command {
                let name = job.manifest.name.clone();
                let o = crate::install::run(cmd, &[("name", &name)], Duration::from_secs(120));
                let bad = match o {
                    Ok(o) if o.ok => None,
                    Ok(o) => Some(o.describe),
                    Err(e) => Some(e.to_string()),
                };
                if let Some(why) = bad {
                    let undone = dirs::undo(&dcfg.root, &switched);
                    let msg = format!(
                        "health check failed after the switch ({why}); switched back{}",
                        undone
                            .err()
                            .map(|e| format!(" with an error: {e}"))
                            .unwrap_or_default()
                    );
                    self.finish(InstallState::RolledBack, Some("health-check"), &msg);
                    return Ok(None);
                }
            }
            let keep: Vec<PathBuf> = switched.iter().filter_map(|s| s.previous.clone()).collect();
            for s in &switched {
                dirs::prune(&dcfg.root, &s.target, &keep);
            }
            let factory = self.cfg.installed.clone();
            self.state.set_installed(&factory, component);
            self.finish(InstallState::Succeeded, None, "installed");
            return Ok(None);
        }
        let Some(fw) = self.cfg.firmware.clone() else {
            self.finish(
                InstallState::Failed,
                Some("unsupported-kind"),
                "no firmware slots configured",
            );
            return Ok(None);
        };
        let from = match ab::current_slot(&fw) {
            Ok(s) => s,
            Err(e) => {
                self.finish(
                    InstallState::Failed,
                    Some("bootloader"),
                    &format!("cannot tell the booted slot: {e}"),
                );
                return Ok(None);
            }
        };
        let to = from.other();
        if let Err(e) = ab::write_slot(&fw, &job.manifest, to, &staged) {
            self.finish(InstallState::Failed, Some("install-failed"), &e);
            return Ok(None);
        }
        crash_point("slot-written");
        if let Err(e) = ab::switch(&fw, to) {
            self.finish(
                InstallState::Failed,
                Some("bootloader"),
                &format!("cannot switch to slot {}: {e}", to.as_str()),
            );
            return Ok(None);
        }
        self.queue(
            &job.rollout_id,
            &job.bundle_id,
            InstallState::Rebooting,
            None,
            None,
        );
        Ok(Some(Step::Rebooting {
            from,
            to,
            boot_id: self.boot_id.clone(),
            boots: 0,
        }))
    }

    /// Restarts the box; when the command returns and the process is still
    /// here a while later, the reboot did not happen and is retried later.
    fn reboot(&mut self) -> Result<Option<Step>, Stop> {
        log::info("rebooting");
        let _ = download::clean(&self.staging, &[]);
        // Deliver what is queued first (the "rebooting" report) when we can.
        let _ = self.flush();
        self.state.boot = Some(BootRecord {
            boot_id: self.boot_id.clone(),
            clean_stop: true,
        });
        let _ = self.save();
        match crate::install::run(&self.cfg.reboot_command, &[], Duration::from_secs(60)) {
            Ok(o) if o.ok => {}
            Ok(o) => log::warn(&format!("reboot command failed: {}", o.describe)),
            Err(e) => log::warn(&format!("reboot command: {e}")),
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline && !self.term.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
        }
        if self.term.load(Ordering::Relaxed) {
            return Ok(None);
        }
        self.state.boot = Some(BootRecord {
            boot_id: self.boot_id.clone(),
            clean_stop: false,
        });
        let _ = self.save();
        Err(Stop::Later("the box did not restart".into()))
    }

    /// Judges a boot after a switch (or finishes a fallback).
    fn after_reboot(&mut self, job: &Job) -> Result<Option<Step>, Stop> {
        let Some(fw) = self.cfg.firmware.clone() else {
            self.finish(
                InstallState::Failed,
                Some("unsupported-kind"),
                "firmware slots are no longer configured",
            );
            return Ok(None);
        };
        match job.step.clone() {
            Step::Rebooting {
                from,
                to,
                boot_id,
                boots,
            } => {
                if boot_id == self.boot_id && boots == 0 {
                    // Switched but not restarted yet (the agent was).
                    return self.reboot();
                }
                let boots = if boot_id == self.boot_id {
                    boots
                } else {
                    boots + 1
                };
                if boot_id != self.boot_id {
                    // Count this boot before judging it: a crash while judging
                    // must not give the slot a free boot.
                    if let Some(j) = self.state.job.as_mut() {
                        j.step = Step::Rebooting {
                            from,
                            to,
                            boot_id: self.boot_id.clone(),
                            boots,
                        };
                    }
                    self.save().map_err(Stop::Later)?;
                    crash_point("booted");
                }
                let booted = ab::current_slot(&fw)
                    .map_err(|e| Stop::Later(format!("cannot tell the booted slot: {e}")))?;
                let health = if booted == to {
                    ab::health_check(&fw).and_then(|()| {
                        if fw.health_needs_server {
                            self.check_in().map(|_| ()).map_err(|Stop::Later(why)| {
                                format!("the new firmware cannot reach the server ({why})")
                            })
                        } else {
                            Ok(())
                        }
                    })
                } else {
                    Ok(())
                };
                let facts = ab::BootFacts {
                    booted,
                    new: to,
                    boots,
                    max_boots: fw.max_boots,
                    health,
                };
                match ab::after_boot(&facts) {
                    ab::Verdict::Confirm => {
                        if let Err(e) = ab::confirm(&fw, to) {
                            log::warn(&format!("confirm command: {e}"));
                        }
                        let factory = self.cfg.installed.clone();
                        self.state.set_installed(
                            &factory,
                            Component {
                                name: job.manifest.name.clone(),
                                version: job.manifest.version.clone(),
                                security_version: job.manifest.security_version,
                            },
                        );
                        self.finish(
                            InstallState::Succeeded,
                            None,
                            &format!("running from slot {}", to.as_str()),
                        );
                        Ok(None)
                    }
                    ab::Verdict::BootloaderFellBack => {
                        let _ = ab::switch(&fw, from);
                        self.finish(
                            InstallState::RolledBack,
                            Some("boot-failed"),
                            &format!(
                                "slot {} did not start: the bootloader went back to slot {}",
                                to.as_str(),
                                from.as_str()
                            ),
                        );
                        Ok(None)
                    }
                    ab::Verdict::Retry { reason } => {
                        log::warn(&format!(
                            "boot {boots} of slot {}: {reason}; trying again",
                            to.as_str()
                        ));
                        self.reboot()
                    }
                    ab::Verdict::FallBack { reason } => {
                        if let Err(e) = ab::switch(&fw, from) {
                            return Err(Stop::Later(format!(
                                "cannot switch back to slot {}: {e}",
                                from.as_str()
                            )));
                        }
                        Ok(Some(Step::FallingBack {
                            from,
                            to,
                            boot_id: self.boot_id.clone(),
                            reason,
                        }))
                    }
                }
            }
            Step::FallingBack {
                from,
                boot_id,
                reason,
                ..
            } => {
                if boot_id == self.boot_id {
                    return self.reboot();
                }
                match ab::current_slot(&fw) {
                    Ok(s) if s == from => {
                        self.finish(InstallState::RolledBack, Some("health-check"), &reason);
                    }
                    Ok(s) => {
                        self.finish(
                            InstallState::Failed,
                            Some("fallback-failed"),
                            &format!(
                                "{reason}; switching back to slot {} did not take: slot {} booted",
                                from.as_str(),
                                s.as_str()
                            ),
                        );
                    }
                    Err(e) => return Err(Stop::Later(format!("cannot tell the booted slot: {e}"))),
                }
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    /// Delivers the queue: status reports in order, then events in batches.
    fn flush(&mut self) -> Result<(), Stop> {
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
    fn batch_of(&self, chunk: &[Queued]) -> EventBatch {
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
    fn publish_events(&mut self, mut events: Vec<Queued>) -> Vec<Queued> {
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
    fn ensure_mqtt(&mut self, url: Option<&str>) {
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
        let Some((host, port)) = crate::nudge::parse_url(url) else {
            log::warn(&format!("MQTT: cannot use {url}"));
            return;
        };
        let stop = Arc::new(AtomicBool::new(false));
        let publisher = crate::nudge::spawn(
            host,
            port,
            id,
            cred,
            self.nudges.0.clone(),
            Arc::clone(&stop),
        );
        self.mqtt = Some((key, stop, publisher));
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
