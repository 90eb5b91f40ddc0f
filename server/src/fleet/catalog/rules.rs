//! The fault catalog's rules: what an entry is (code → class, severity,
//! knowledge-base article, ticket policy), what makes one valid, and the
//! catalog file format (`[[fault]]` tables, as `wavecast-firmware-samples`
//! writes it and `faults.catalog_file` names it).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// What kind of fault: it decides which ticket a fault opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FaultClass {
    Hardware,
    Software,
    Network,
}

/// How bad a fault is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Minor,
    Major,
    Critical,
}

crate::platform::text::text_enum!(FaultClass, "fault class", Hardware => "hardware", Software => "software", Network => "network");
crate::platform::text::text_enum!(Severity, "severity", Minor => "minor", Major => "major", Critical => "critical");

/// When a box's faults of one code open a ticket by themselves:
/// `occurrences` within `window_hours`, or at the first one when
/// `immediate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPolicy {
    pub occurrences: u32,
    pub window_hours: u32,
    #[serde(default)]
    pub immediate: bool,
}

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// The code boxes report, e.g. `HW-HDMI-001`.
    pub code: String,
    pub title: String,
    pub class: FaultClass,
    pub severity: Severity,
    /// The knowledge-base article support staff and subscribers read.
    pub kb: String,
    pub policy: TicketPolicy,
}

/// Longest knowledge-base article, in bytes.
pub const MAX_KB: usize = 16 * 1024;
/// Longest title, in bytes.
pub const MAX_TITLE: usize = 200;
/// Longest ticket window: a year.
pub const MAX_WINDOW_HOURS: u32 = 24 * 366;
/// Most occurrences a ticket policy may wait for.
pub const MAX_OCCURRENCES: u32 = 1_000_000;

/// A code as boxes send it: the protocol's rule.
pub use wavecast_protocol::events::check_fault_code as check_code;

impl CatalogEntry {
    /// The rules serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        check_code(&self.code)?;
        let code = &self.code;
        if self.title.trim().is_empty() || self.title.len() > MAX_TITLE {
            return Err(format!("{code}: title must be 1 to {MAX_TITLE} bytes"));
        }
        if self.kb.trim().is_empty() || self.kb.len() > MAX_KB {
            return Err(format!(
                "{code}: kb (the knowledge-base article) must be 1 to {MAX_KB} bytes"
            ));
        }
        let p = &self.policy;
        if p.occurrences == 0 || p.occurrences > MAX_OCCURRENCES {
            return Err(format!(
                "{code}: policy.occurrences must be 1 to {MAX_OCCURRENCES}"
            ));
        }
        if p.window_hours == 0 || p.window_hours > MAX_WINDOW_HOURS {
            return Err(format!(
                "{code}: policy.window_hours must be 1 to {MAX_WINDOW_HOURS}"
            ));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    fault: Vec<CatalogEntry>,
}

/// Parses and checks a catalog file: every entry valid, no code twice.
pub fn parse_catalog(text: &str) -> Result<Vec<CatalogEntry>, String> {
    let file: CatalogFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut seen = BTreeSet::new();
    for e in &file.fault {
        e.validate()?;
        if !seen.insert(e.code.as_str()) {
            return Err(format!("{} is listed twice", e.code));
        }
    }
    Ok(file.fault)
}

/// The catalog the server starts with when no file is configured: the
/// sample catalog of `wavecast-firmware-samples`, kept equal to it by a test.
pub const DEFAULT_CATALOG: &str = include_str!("../../../fault-catalog.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> CatalogEntry {
        CatalogEntry {
            code: "HW-HDMI-001".into(),
            title: "HDMI output lost".into(),
            class: FaultClass::Hardware,
            severity: Severity::Major,
            kb: "Reseat the cable.".into(),
            policy: TicketPolicy {
                occurrences: 3,
                window_hours: 24,
                immediate: false,
            },
        }
    }

    #[test]
    fn the_default_catalog_is_the_samples_catalog_and_valid() {
        assert_eq!(
            DEFAULT_CATALOG,
            wavecast_firmware_samples::catalog_toml(),
            "regenerate server/fault-catalog.toml with `cargo run -p wavecast-firmware-samples`"
        );
        let all = parse_catalog(DEFAULT_CATALOG).expect("parses");
        assert_eq!(all.len(), wavecast_firmware_samples::CATALOG.len());
        let psu = all.iter().find(|e| e.code == "HW-PSU-001").expect("PSU");
        assert_eq!(psu.class, FaultClass::Hardware);
        assert_eq!(psu.severity, Severity::Critical);
        assert!(psu.policy.immediate);
    }

    #[test]
    fn bad_entries_are_refused_with_the_reason() {
        entry().validate().expect("valid");
        type Change = fn(&mut CatalogEntry);
        let cases: [(Change, &str); 7] = [
            (|e| e.code = "has space".into(), "may hold only"),
            (|e| e.code = String::new(), "1 to 64"),
            (|e| e.title = " ".into(), "title"),
            (|e| e.kb = "x".repeat(MAX_KB + 1), "kb"),
            (|e| e.policy.occurrences = 0, "occurrences"),
            (|e| e.policy.occurrences = u32::MAX, "occurrences"),
            (
                |e| e.policy.window_hours = MAX_WINDOW_HOURS + 1,
                "window_hours",
            ),
        ];
        for (change, reason) in cases {
            let mut e = entry();
            change(&mut e);
            let err = e.validate().expect_err(reason);
            assert!(err.contains(reason), "{reason}: {err}");
        }
    }

    #[test]
    fn a_catalog_file_refuses_duplicates_unknown_keys_and_bad_values() {
        let one = r#"[[fault]]
code = "SW-APP-102"
title = "Main application crash"
class = "software"
severity = "major"
kb = "Clear the cache."
policy = { occurrences = 3, window_hours = 24 }
"#;
        assert_eq!(parse_catalog(one).expect("one").len(), 1);
        let twice = format!("{one}\n{one}");
        assert!(parse_catalog(&twice).expect_err("twice").contains("twice"));
        let typo = one.replace("severity", "severty");
        assert!(parse_catalog(&typo).expect_err("typo").contains("severty"));
        let class = one.replace("\"software\"", "\"firmware\"");
        assert!(parse_catalog(&class).is_err());
        assert_eq!(parse_catalog("").expect("empty"), vec![]);
    }

    #[test]
    fn classes_and_severities_read_and_print_as_lowercase_words() {
        for c in [
            FaultClass::Hardware,
            FaultClass::Software,
            FaultClass::Network,
        ] {
            assert_eq!(c.as_str().parse::<FaultClass>(), Ok(c));
        }
        for s in [Severity::Minor, Severity::Major, Severity::Critical] {
            assert_eq!(s.to_string().parse::<Severity>(), Ok(s));
        }
        assert!("fatal"
            .parse::<Severity>()
            .expect_err("not a severity")
            .contains("critical"));
        assert!(Severity::Critical > Severity::Minor);
    }
}
