//! Fleet problems: faults with the same code and signature, across boxes,
//! are one problem. The rules here: which key groups a fault, how the
//! versions a box ran are written for grouping, which versions a problem is
//! marked resolved at, and when a fault on a resolved problem reopens it
//! (only on a newer version than any seen when it was resolved: boxes not
//! yet updated keep reporting the old fault, and that is no news).

use std::collections::BTreeMap;

use semver::Version;
use serde::{Deserialize, Serialize};
use wavecast_protocol::{checkin::Component, events::FaultReport};

/// Where a problem stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProblemStatus {
    Open,
    Resolved,
}

crate::platform::text::text_enum!(ProblemStatus, "problem status", Open => "open", Resolved => "resolved");

/// The signature a fault is grouped by: the one the box computed (a crash's
/// stack hash, say), or none, which groups every fault of the code.
pub fn group_key(signature: Option<&str>) -> &str {
    signature.unwrap_or("")
}

/// One box's new faults of one code and signature, as fleet problems and
/// tickets both take them.
#[derive(Debug)]
pub struct FaultGroup<'a> {
    pub code: &'a str,
    /// [`group_key`] of the faults' signature.
    pub signature: &'a str,
    pub faults: Vec<&'a FaultReport>,
    /// Box time of the earliest and the latest fault, Unix seconds.
    pub first: i64,
    pub last: i64,
    /// The latest fault: it says which versions the box runs.
    pub latest: &'a FaultReport,
}

/// `faults` grouped by code and signature, in code order.
pub fn fault_groups<'a>(faults: &[&'a FaultReport]) -> Vec<FaultGroup<'a>> {
    let mut groups: BTreeMap<(&str, &str), Vec<&FaultReport>> = BTreeMap::new();
    for f in faults {
        groups
            .entry((f.code.as_str(), group_key(f.signature.as_deref())))
            .or_default()
            .push(f);
    }
    groups
        .into_iter()
        .filter_map(|((code, signature), fs)| {
            let latest = *fs.iter().max_by_key(|f| f.at)?;
            Some(FaultGroup {
                code,
                signature,
                first: fs.iter().map(|f| f.at).min()?,
                last: latest.at,
                latest,
                faults: fs,
            })
        })
        .collect()
}

/// Longest versions key stored (the column's size).
pub const MAX_VERSIONS_KEY: usize = 4096;

/// The versions a box ran, written the same way for every box so that
/// equal sets group together: `name@version` by name, comma-separated, cut
/// at [`MAX_VERSIONS_KEY`] bytes (names and versions have no length limit
/// of their own).
pub fn versions_key(installed: &[Component]) -> String {
    let mut parts: Vec<String> = installed
        .iter()
        .map(|c| format!("{}@{}", c.name, c.version))
        .collect();
    parts.sort_unstable();
    parts.dedup();
    truncate_key(parts.join(", "), MAX_VERSIONS_KEY)
}

/// `key` cut to at most `max` bytes on a character boundary, ending in `…`
/// when cut.
pub fn truncate_key(mut key: String, max: usize) -> String {
    if key.len() > max {
        let mut end = max - '…'.len_utf8();
        while !key.is_char_boundary(end) {
            end -= 1;
        }
        key.truncate(end);
        key.push('…');
    }
    key
}

/// The highest version of each component across `sets`: what a problem is
/// marked resolved at.
pub fn highest_versions<'a>(
    sets: impl IntoIterator<Item = &'a [Component]>,
) -> BTreeMap<String, Version> {
    let mut out: BTreeMap<String, Version> = BTreeMap::new();
    for set in sets {
        for c in set {
            match out.get(&c.name) {
                Some(v) if *v >= c.version => {}
                _ => {
                    out.insert(c.name.clone(), c.version.clone());
                }
            }
        }
    }
    out
}

/// Whether a fault from a box running `installed` reopens a problem
/// resolved at `resolved_at`: some component is newer than the newest
/// version of it seen when the problem was resolved.
pub fn reopens(resolved_at: &BTreeMap<String, Version>, installed: &[Component]) -> bool {
    installed
        .iter()
        .any(|c| resolved_at.get(&c.name).is_some_and(|v| c.version > *v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, v: &str) -> Component {
        Component {
            name: name.into(),
            version: v.parse().expect("version"),
            security_version: 0,
        }
    }

    fn f(code: &str, signature: Option<&str>, at: i64, fw: &str) -> FaultReport {
        FaultReport {
            at,
            code: code.into(),
            signature: signature.map(Into::into),
            details: None,
            installed: vec![c("x1-firmware", fw)],
        }
    }

    #[test]
    fn faults_group_by_code_and_signature_with_their_span_and_latest() {
        let a = f("SW-APP-102", Some("x"), 20, "4.1.0");
        let b = f("SW-APP-102", Some("x"), 10, "4.0.0");
        let c2 = f("SW-APP-102", None, 5, "4.0.0");
        let d = f("HW-HDMI-001", None, 7, "4.0.0");
        let g = fault_groups(&[&a, &b, &c2, &d]);
        let keys: Vec<(&str, &str, usize)> = g
            .iter()
            .map(|g| (g.code, g.signature, g.faults.len()))
            .collect();
        assert_eq!(
            keys,
            [
                ("HW-HDMI-001", "", 1),
                ("SW-APP-102", "", 1),
                ("SW-APP-102", "x", 2)
            ]
        );
        assert_eq!((g[2].first, g[2].last), (10, 20));
        assert_eq!(g[2].latest.installed[0].version.to_string(), "4.1.0");
        assert!(fault_groups(&[]).is_empty());
    }

    #[test]
    fn versions_group_whatever_order_the_box_lists_them_in() {
        let a = [c("x1-firmware", "4.2.0"), c("codec-hevc", "2.1.0")];
        let b = [c("codec-hevc", "2.1.0"), c("x1-firmware", "4.2.0")];
        assert_eq!(versions_key(&a), versions_key(&b));
        assert_eq!(versions_key(&a), "codec-hevc@2.1.0, x1-firmware@4.2.0");
        assert_eq!(versions_key(&[]), "");
        let long = [c(&"é".repeat(3000), "1.0.0")];
        let key = versions_key(&long);
        assert!(
            key.len() <= MAX_VERSIONS_KEY && key.ends_with('…'),
            "{}",
            key.len()
        );
    }

    #[test]
    fn the_resolution_keeps_the_newest_version_of_each_component() {
        let seen = [
            vec![c("fw", "4.1.0"), c("codec", "2.0.0")],
            vec![c("fw", "4.2.0")],
            vec![c("fw", "4.10.0"), c("codec", "1.9.0")],
        ];
        let h = highest_versions(seen.iter().map(Vec::as_slice));
        assert_eq!(h["fw"].to_string(), "4.10.0", "semver order, not text");
        assert_eq!(h["codec"].to_string(), "2.0.0");
    }

    #[test]
    fn only_a_newer_version_reopens() {
        let resolved = highest_versions([[c("fw", "4.2.0"), c("codec", "2.0.0")].as_slice()]);
        assert!(!reopens(&resolved, &[c("fw", "4.2.0")]), "same version");
        assert!(
            !reopens(&resolved, &[c("fw", "4.1.0")]),
            "a box not yet updated"
        );
        assert!(
            !reopens(&resolved, &[c("drm", "9.0.0")]),
            "a component the problem never saw"
        );
        assert!(reopens(&resolved, &[c("fw", "4.2.1")]));
        assert!(reopens(&resolved, &[c("fw", "4.1.0"), c("codec", "2.1.0")]));
        assert!(!reopens(&BTreeMap::new(), &[c("fw", "9.9.9")]));
    }

    #[test]
    fn statuses_read_and_print() {
        for s in [ProblemStatus::Open, ProblemStatus::Resolved] {
            assert_eq!(s.as_str().parse::<ProblemStatus>(), Ok(s));
        }
        assert!("closed".parse::<ProblemStatus>().is_err());
        assert_eq!(group_key(None), "");
        assert_eq!(group_key(Some("abc")), "abc");
    }
}
