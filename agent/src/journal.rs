//! The journal: everything the agent must remember across a kill -9 or a
//! power cut, in one JSON file replaced atomically (`state_dir/state.json`).
//!
//! An update is a [`Job`] that moves through [`Step`]s; each step is
//! written before the work it names begins, and every step's work can be
//! done again from the start (downloads resume, slot writes and unpacks
//! start over, a switch is repeated). Status reports are queued *before* the
//! step that follows them is written, so after a crash a report may be sent
//! twice (the server takes reports idempotently), never not at all.

use std::{collections::BTreeSet, path::Path};

use serde::{Deserialize, Serialize};
use wavecast_protocol::{
    checkin::{Component, OfferArtifact},
    envelope::Envelope,
    manifest::Manifest,
};

use crate::{faults::BootRecord, install::ab::Slot};

/// Where an update stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Fetching artifacts into the staging area (resumable).
    Downloading,
    /// Every artifact is staged and verified.
    Downloaded,
    /// Writing the inactive slot, or unpacking directories.
    Installing,
    /// The bootloader was told to boot `to`; waiting for the verdict of its
    /// boots. `boot_id` is the last boot counted in `boots`.
    Rebooting {
        from: Slot,
        to: Slot,
        boot_id: String,
        boots: u32,
    },
    /// The new slot failed; the bootloader was told to boot `from` again.
    FallingBack {
        from: Slot,
        to: Slot,
        boot_id: String,
        reason: String,
    },
}

impl Step {
    /// The step's name, as crash points and `status` name it.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Downloading => "downloading",
            Step::Downloaded => "downloaded",
            Step::Installing => "installing",
            Step::Rebooting { .. } => "rebooting",
            Step::FallingBack { .. } => "falling_back",
        }
    }
}

/// One update in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub rollout_id: String,
    pub bundle_id: String,
    /// Verified before the job began.
    pub manifest: Manifest,
    pub artifacts: Vec<OfferArtifact>,
    pub step: Step,
    /// Unix seconds the job began.
    pub started_at: i64,
}

/// The whole journal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    #[serde(default)]
    pub device_id: Option<String>,
    #[serde(default)]
    pub credential: Option<String>,
    #[serde(default)]
    pub credential_expires_at: Option<i64>,
    /// The newest keyring accepted (its signed envelope).
    #[serde(default)]
    pub keyring: Option<Envelope>,
    /// What runs on the box now; `None` until the first update replaces
    /// the configuration's list.
    #[serde(default)]
    pub installed: Option<Vec<Component>>,
    #[serde(default)]
    pub job: Option<Job>,
    /// Rollout/bundle pairs already ended here (newest last, bounded), so an
    /// offer repeated before the server has the report is not redone.
    #[serde(default)]
    pub ended: Vec<String>,
    #[serde(default)]
    pub boot: Option<BootRecord>,
    #[serde(default)]
    pub crash_dumps_seen: BTreeSet<String>,
    #[serde(default)]
    pub last_checkin_at: Option<i64>,
    #[serde(default)]
    pub last_error: Option<String>,
}

const ENDED_KEPT: usize = 64;

/// The key of an offer in [`State::ended`].
pub fn offer_key(rollout_id: &str, bundle_id: &str) -> String {
    format!("{rollout_id}/{bundle_id}")
}

impl State {
    pub fn path(state_dir: &Path) -> std::path::PathBuf {
        state_dir.join("state.json")
    }

    pub fn load(state_dir: &Path) -> std::io::Result<Self> {
        Ok(crate::store::read_json(&Self::path(state_dir))?.unwrap_or_default())
    }

    pub fn save(&self, state_dir: &Path) -> std::io::Result<()> {
        crate::store::write_json(&Self::path(state_dir), self)
    }

    /// What is installed now.
    pub fn installed(&self, factory: &[Component]) -> Vec<Component> {
        self.installed.clone().unwrap_or_else(|| factory.to_vec())
    }

    /// Records `c` as installed (replacing the component of the same name).
    pub fn set_installed(&mut self, factory: &[Component], c: Component) {
        let mut list = self.installed(factory);
        list.retain(|x| x.name != c.name);
        list.push(c);
        list.sort_by(|a, b| a.name.cmp(&b.name));
        self.installed = Some(list);
    }

    /// Remembers that an offer ended here.
    pub fn mark_ended(&mut self, key: String) {
        self.ended.retain(|k| *k != key);
        self.ended.push(key);
        if self.ended.len() > ENDED_KEPT {
            self.ended.remove(0);
        }
    }
}

/// Why an offer may not be installed on this box, as a failure code and a
/// message; `None` when it may. Pure: the trust checks (signatures, keys)
/// happened before.
pub fn refuse_offer(
    manifest: &Manifest,
    artifacts: &[OfferArtifact],
    model: &str,
    revision: &str,
    installed: &[Component],
    allow_downgrade: bool,
    can_install_kind: bool,
) -> Option<(&'static str, String)> {
    if !manifest.is_compatible(model, revision) {
        return Some((
            "incompatible-hardware",
            format!(
                "{} is not for model {model} revision {revision}",
                manifest.name
            ),
        ));
    }
    if let Some(current) = installed.iter().find(|c| c.name == manifest.name) {
        if manifest.security_version < current.security_version {
            return Some((
                "security-version",
                format!(
                    "{} {} has security version {}, below the installed {}",
                    manifest.name,
                    manifest.version,
                    manifest.security_version,
                    current.security_version
                ),
            ));
        }
        if manifest.version < current.version && !allow_downgrade {
            return Some((
                "downgrade",
                format!(
                    "{} {} is older than the installed {} and no rollback was asked for",
                    manifest.name, manifest.version, current.version
                ),
            ));
        }
    }
    for req in &manifest.requires {
        let ok = installed
            .iter()
            .any(|c| c.name == req.name && req.version.matches(&c.version));
        if !ok {
            return Some((
                "requirement",
                format!("{} needs {} {}", manifest.name, req.name, req.version),
            ));
        }
    }
    if !can_install_kind {
        return Some((
            "unsupported-kind",
            format!("this box has no installer for {} bundles", manifest.kind),
        ));
    }
    for a in &manifest.artifacts {
        if !crate::install::supports(a.compression) {
            return Some((
                "unsupported-compression",
                format!("{} is compressed in a way this agent cannot unpack", a.name),
            ));
        }
        let Some(o) = artifacts.iter().find(|o| o.name == a.name) else {
            return Some(("manifest-mismatch", format!("the offer has no {}", a.name)));
        };
        if o.size != a.size || o.sha256 != a.sha256 {
            return Some((
                "manifest-mismatch",
                format!("the offer's {} differs from the signed manifest", a.name),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comp(name: &str, v: &str, sv: u64) -> Component {
        Component {
            name: name.into(),
            version: v.parse().expect("v"),
            security_version: sv,
        }
    }

    fn offer_of(m: &Manifest) -> Vec<OfferArtifact> {
        m.artifacts
            .iter()
            .map(|a| OfferArtifact {
                name: a.name.clone(),
                size: a.size,
                sha256: a.sha256,
                url: format!("/api/v1/artifacts/{}", a.sha256),
            })
            .collect()
    }

    #[test]
    fn offers_are_checked_against_the_box() {
        let m = crate::testutil::manifest();
        let model = m.compatible[0].model.clone();
        let arts = offer_of(&m);
        let ok = |inst: &[Component]| refuse_offer(&m, &arts, &model, "A", inst, false, true);
        assert_eq!(
            ok(&[]).map(|r| r.0),
            m.requires.first().map(|_| "requirement")
        );
        let mut base: Vec<Component> = m
            .requires
            .iter()
            .map(|r| comp(&r.name, "99.0.0", 0))
            .collect();
        assert_eq!(ok(&base), None);
        base.push(comp(&m.name, "999.0.0", 0));
        assert_eq!(ok(&base).map(|r| r.0), Some("downgrade"));
        assert_eq!(
            refuse_offer(&m, &arts, &model, "A", &base, true, true),
            None,
            "a rollback may go down"
        );
        base.pop();
        base.push(comp(&m.name, "0.0.1", m.security_version + 1));
        assert_eq!(ok(&base).map(|r| r.0), Some("security-version"));
        base.pop();
        assert_eq!(
            refuse_offer(&m, &arts, "OTHER-MODEL", "A", &base, false, true).map(|r| r.0),
            Some("incompatible-hardware")
        );
        assert_eq!(
            refuse_offer(&m, &arts, &model, "A", &base, false, false).map(|r| r.0),
            Some("unsupported-kind")
        );
        let mut bad = arts.clone();
        bad[0].size += 1;
        assert_eq!(
            refuse_offer(&m, &bad, &model, "A", &base, false, true).map(|r| r.0),
            Some("manifest-mismatch")
        );
    }

    #[test]
    fn ended_offers_are_bounded() {
        let mut s = State::default();
        for i in 0..100 {
            s.mark_ended(offer_key("r", &i.to_string()));
        }
        assert_eq!(s.ended.len(), ENDED_KEPT);
        assert_eq!(s.ended.last().map(String::as_str), Some("r/99"));
    }
}
