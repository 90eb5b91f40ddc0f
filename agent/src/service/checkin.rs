//! Enrolling with the identity key when the box has no credential (or the
//! server refused it), and checking in: the signed answer verified, the
//! offers it may take queued in the journal, its licence tokens kept, the
//! broker it was told about joined.

use std::time::{Duration, Instant};

use wavecast_protocol::{
    checkin::CheckinPayload, keyring::Keyring, keys::public_key_text, manifest::Kind,
    status::InstallState,
};

use super::{Agent, Stop};
use crate::{
    client::{Client, ClientError},
    crash_point,
    journal::{offer_key, refuse_offer, Job, Step},
    licences, log, now,
};

impl Agent {
    /// Enrols when the box has no working credential.
    pub(super) fn ensure_enrolled(&mut self) -> Result<(), Stop> {
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
    pub(super) fn drop_credential_on_401(&mut self, e: &ClientError) {
        if e.status() == Some(401) {
            self.state.credential = None;
            self.client = Client::with_trust(&self.cfg.server, &self.tls);
            let _ = self.save();
        }
    }

    /// Checks in and verifies the answer; returns the verified offers.
    pub(super) fn check_in(&mut self) -> Result<Vec<crate::trust::VerifiedOffer>, Stop> {
        self.ensure_enrolled()?;
        let nonce = Client::nonce();
        let installed = self.installed();
        let tokens = licences::held(&self.cfg.state_dir).map_or(0, |h| h.tokens.len());
        let answer = match self.client.check_in(
            &nonce,
            &installed,
            self.cfg.timezone.as_deref(),
            self.trust.held_keyring(),
            u32::try_from(tokens).unwrap_or(u32::MAX),
        ) {
            Ok(a) => a,
            Err(e) => {
                self.drop_credential_on_401(&e);
                return Err(Stop::Later(format!("check-in: {e}")));
            }
        };
        let device_id = self.state.device_id.clone().unwrap_or_default();
        let (payload, offers, keyring) = self
            .trust
            .verify(&answer, &device_id, &nonce, now())
            .map_err(|e| Stop::Later(format!("refused the server's answer: {e}")))?;
        self.keep_licences(&keyring, &payload, &device_id);
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

    /// Keeps the licence tokens of a verified answer, and its time as
    /// trusted.
    fn keep_licences(&self, keyring: &Keyring, payload: &CheckinPayload, device_id: &str) {
        let dir = &self.cfg.state_dir;
        if let Err(e) = licences::trusted_now(dir, now().max(payload.issued_at)) {
            log::warn(&format!("cannot keep the trusted time: {e}"));
        }
        let Some(tokens) = &payload.licences else {
            return;
        };
        let key = public_key_text(&self.identity.key.verifying_key());
        match licences::take(dir, keyring, tokens, device_id, &key) {
            Ok(refused) => {
                for why in refused {
                    log::warn(&format!("refused {why}"));
                }
            }
            Err(e) => log::warn(&format!("cannot keep the licence tokens: {e}")),
        }
    }

    pub(super) fn check_in_and_act(&mut self) -> Result<(), Stop> {
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
}
