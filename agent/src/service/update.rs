//! Carrying an offer through its journalled steps: download (resumable,
//! verified), install (into the inactive A/B slot, or a directory swapped
//! atomically), reboot, and after the reboot confirm the new slot or fall
//! back; each end reported once.

use std::{
    path::PathBuf,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use wavecast_protocol::{
    checkin::Component,
    manifest::Kind,
    status::{InstallState, StatusReport},
};

use super::{Agent, Stop};
use crate::{
    crash_point,
    download::{self, DownloadError},
    faults::BootRecord,
    install::{ab, dirs},
    journal::{offer_key, Job, Step},
    log,
};

impl Agent {
    /// Queues a status report.
    pub(super) fn queue(
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

    pub(super) fn report_end(
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
    pub(super) fn finish(&mut self, state: InstallState, code: Option<&str>, message: &str) {
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

    pub(super) fn staged(&self, job: &Job) -> impl Fn(&str) -> Option<PathBuf> {
        let staging = self.staging.clone();
        let arts = job.manifest.artifacts.clone();
        move |name: &str| {
            arts.iter()
                .find(|a| a.name == name)
                .map(|a| download::staged_path(&staging, &a.sha256))
                .filter(|p| p.is_file())
        }
    }

    pub(super) fn download(&mut self, job: &Job) -> Result<Option<Step>, Stop> {
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

    pub(super) fn install(&mut self, job: &Job) -> Result<Option<Step>, Stop> {
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
    pub(super) fn reboot(&mut self) -> Result<Option<Step>, Stop> {
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
    pub(super) fn after_reboot(&mut self, job: &Job) -> Result<Option<Step>, Stop> {
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
}
