//! Which bundles a device may be offered, and in what order: compatible with
//! its hardware, not a downgrade below its installed security version, not
//! already installed, and with every requirement met by what is installed or
//! by a bundle offered before it (firmware before the codec pack needing it).

use std::collections::HashMap;

use semver::Version;
use wavecast_protocol::manifest::{Compatibility, Requirement};

/// A component installed on the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub name: String,
    pub version: Version,
    pub security_version: u64,
}

/// A bundle a rollout would offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    pub version: Version,
    pub security_version: u64,
    pub compatible: Vec<Compatibility>,
    pub requires: Vec<Requirement>,
    /// An explicit permission to install a lower version (a rollback), never
    /// below the installed security version.
    pub allow_downgrade: bool,
}

/// Why a candidate is not offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    Incompatible,
    AlreadyInstalled,
    Downgrade { installed: Version },
    SecurityVersion { installed: u64, offered: u64 },
    Unmet { requirement: String },
}

/// The offers for a device, in install order, and the skipped candidates with reasons.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub offers: Vec<Candidate>,
    pub skipped: Vec<(Candidate, Skip)>,
}

fn compatible(c: &Candidate, model: &str, revision: &str) -> bool {
    c.compatible.iter().any(|x| {
        x.model == model && (x.revisions.is_empty() || x.revisions.iter().any(|r| r == revision))
    })
}

/// Plans the offers for a device of `model`/`revision` with `installed` components.
pub fn plan(
    model: &str,
    revision: &str,
    installed: &[Installed],
    candidates: &[Candidate],
) -> Plan {
    let have: HashMap<&str, &Installed> = installed.iter().map(|i| (i.name.as_str(), i)).collect();
    let mut plan = Plan::default();
    let mut pending = Vec::new();
    for c in candidates {
        let skip = if !compatible(c, model, revision) {
            Some(Skip::Incompatible)
        } else if let Some(i) = have.get(c.name.as_str()) {
            if c.security_version < i.security_version {
                Some(Skip::SecurityVersion {
                    installed: i.security_version,
                    offered: c.security_version,
                })
            } else if c.version == i.version {
                Some(Skip::AlreadyInstalled)
            } else if c.version < i.version && !c.allow_downgrade {
                Some(Skip::Downgrade {
                    installed: i.version.clone(),
                })
            } else {
                None
            }
        } else {
            None
        };
        match skip {
            Some(s) => plan.skipped.push((c.clone(), s)),
            None => pending.push(c.clone()),
        }
    }
    // The version each component will have once earlier offers install.
    let mut will_have: HashMap<String, Version> = installed
        .iter()
        .map(|i| (i.name.clone(), i.version.clone()))
        .collect();
    // Repeatedly offer whatever has its requirements met; what is left unmet is skipped.
    loop {
        let ready = pending.iter().position(|c: &Candidate| {
            c.requires
                .iter()
                .all(|r| will_have.get(&r.name).is_some_and(|v| r.version.matches(v)))
        });
        let Some(i) = ready else { break };
        let c = pending.remove(i);
        will_have.insert(c.name.clone(), c.version.clone());
        plan.offers.push(c);
    }
    for c in pending {
        let requirement = c
            .requires
            .iter()
            .find(|r| !will_have.get(&r.name).is_some_and(|v| r.version.matches(v)))
            .map(|r| format!("{} {}", r.name, r.version))
            .unwrap_or_default();
        plan.skipped.push((c, Skip::Unmet { requirement }));
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().expect("version")
    }

    fn cand(name: &str, version: &str, security: u64, requires: &[(&str, &str)]) -> Candidate {
        Candidate {
            name: name.into(),
            version: v(version),
            security_version: security,
            compatible: vec![Compatibility {
                model: "X1".into(),
                revisions: vec![],
            }],
            requires: requires
                .iter()
                .map(|(n, r)| Requirement {
                    name: (*n).into(),
                    version: r.parse().expect("req"),
                })
                .collect(),
            allow_downgrade: false,
        }
    }

    fn inst(name: &str, version: &str, security: u64) -> Installed {
        Installed {
            name: name.into(),
            version: v(version),
            security_version: security,
        }
    }

    #[test]
    fn firmware_comes_before_the_codec_pack_that_needs_it() {
        let fw = cand("x1-firmware", "4.2.0", 7, &[]);
        let codec = cand("codec", "2.0.0", 1, &[("x1-firmware", ">=4.2.0")]);
        // Offered in the "wrong" order, planned in the right one.
        let p = plan(
            "X1",
            "A",
            &[inst("x1-firmware", "4.1.0", 6)],
            &[codec.clone(), fw.clone()],
        );
        assert_eq!(p.offers, vec![fw, codec]);
        assert!(p.skipped.is_empty());
    }

    #[test]
    fn unmet_requirements_are_skipped_with_the_reason() {
        let codec = cand("codec", "2.0.0", 1, &[("x1-firmware", ">=4.2.0")]);
        let p = plan("X1", "A", &[inst("x1-firmware", "4.1.0", 6)], &[codec]);
        assert!(p.offers.is_empty());
        assert_eq!(
            p.skipped[0].1,
            Skip::Unmet {
                requirement: "x1-firmware >=4.2.0".into()
            }
        );
    }

    #[test]
    fn incompatible_installed_and_downgrades_are_skipped() {
        let fw = cand("x1-firmware", "4.2.0", 7, &[]);
        assert_eq!(
            plan("X2", "A", &[], std::slice::from_ref(&fw)).skipped[0].1,
            Skip::Incompatible
        );
        let mut rev_b = fw.clone();
        rev_b.compatible[0].revisions = vec!["B".into()];
        assert_eq!(
            plan("X1", "A", &[], &[rev_b]).skipped[0].1,
            Skip::Incompatible
        );
        assert_eq!(
            plan(
                "X1",
                "A",
                &[inst("x1-firmware", "4.2.0", 7)],
                std::slice::from_ref(&fw)
            )
            .skipped[0]
                .1,
            Skip::AlreadyInstalled
        );
        let old = cand("x1-firmware", "4.1.0", 7, &[]);
        assert!(matches!(
            plan(
                "X1",
                "A",
                &[inst("x1-firmware", "4.2.0", 7)],
                std::slice::from_ref(&old)
            )
            .skipped[0]
                .1,
            Skip::Downgrade { .. }
        ));
        // A rollback with explicit permission is offered ...
        let allowed = Candidate {
            allow_downgrade: true,
            ..old
        };
        assert_eq!(
            plan(
                "X1",
                "A",
                &[inst("x1-firmware", "4.2.0", 7)],
                std::slice::from_ref(&allowed)
            )
            .offers
            .len(),
            1
        );
        // ... but never below the installed security version.
        let p = plan("X1", "A", &[inst("x1-firmware", "4.2.0", 8)], &[allowed]);
        assert_eq!(
            p.skipped[0].1,
            Skip::SecurityVersion {
                installed: 8,
                offered: 7
            }
        );
    }
}
