//! Fleet views as pure functions: which installed component is a box's
//! firmware, whether a box is online, and fault rates per 1,000 device-days
//! by model and firmware version.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use wavecast_protocol::checkin::Component;

use crate::updates::rollouts::gate::per_1000_device_days;

/// A box's firmware as `name@version`: the installed component named like a
/// firmware bundle the server knows, else the first one whose name ends in
/// `firmware`; `None` when neither.
pub fn firmware_of(installed: &[Component], firmware_names: &HashSet<String>) -> Option<String> {
    installed
        .iter()
        .find(|c| firmware_names.contains(&c.name))
        .or_else(|| installed.iter().find(|c| c.name.ends_with("firmware")))
        .map(|c| format!("{}@{}", c.name, c.version))
}

/// Whether a box last heard from at `last_seen` is online at `now`.
pub fn online(last_seen: Option<i64>, now: i64, online_secs: u64) -> bool {
    let window = i64::try_from(online_secs).unwrap_or(i64::MAX);
    last_seen.is_some_and(|t| now.saturating_sub(t) <= window)
}

/// One model and firmware version's faults and exposure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FaultRate {
    pub model: String,
    /// `name@version`, or `null` for boxes whose firmware is unknown.
    pub firmware: Option<String>,
    pub faults: u64,
    /// Hours boxes reported health, in days.
    pub device_days: f64,
    /// `null` without any device-days.
    pub per_1000_device_days: Option<f64>,
}

/// Fault rates from device-hours and faults, each keyed by (model, firmware).
pub fn fault_rates(
    device_hours: &BTreeMap<(String, Option<String>), u64>,
    faults: &BTreeMap<(String, Option<String>), u64>,
) -> Vec<FaultRate> {
    let keys: std::collections::BTreeSet<&(String, Option<String>)> =
        device_hours.keys().chain(faults.keys()).collect();
    keys.into_iter()
        .map(|k| {
            #[allow(clippy::cast_precision_loss)]
            let days = device_hours.get(k).copied().unwrap_or(0) as f64 / 24.0;
            let n = faults.get(k).copied().unwrap_or(0);
            FaultRate {
                model: k.0.clone(),
                firmware: k.1.clone(),
                faults: n,
                device_days: days,
                per_1000_device_days: per_1000_device_days(n, days),
            }
        })
        .collect()
}

/// What a reader of the fault rates should know, if anything: rates come
/// from hourly rollups, so none exist before the first rollup pass (every
/// `every_secs`), and a model and version whose boxes reported no health
/// yet has faults but no rate.
pub fn rates_note(rolled_up: bool, rates: &[FaultRate], every_secs: u64) -> Option<String> {
    if !rolled_up {
        return Some(format!(
            "fault rates are not computed yet: they come from hourly rollups of health \
             reports, and the first rollup pass runs within {every_secs} s of the server's \
             start (telemetry.rollup_every_secs)"
        ));
    }
    rates
        .iter()
        .any(|r| r.per_1000_device_days.is_none())
        .then(|| {
            format!(
                "a rate not worked out yet has no device-days behind it: health reports count \
                 once the hourly rollup has taken them in (a pass every {every_secs} s, for \
                 reports at least a minute old)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, v: &str) -> Component {
        Component {
            name: name.into(),
            version: v.parse().expect("version"),
            security_version: 1,
        }
    }

    #[test]
    fn the_firmware_is_the_component_named_like_a_firmware_bundle() {
        let names: HashSet<String> = ["stb-rootfs".to_owned()].into();
        let inv = [c("codec-pack", "1.0.0"), c("stb-rootfs", "4.2.0")];
        assert_eq!(
            firmware_of(&inv, &names).as_deref(),
            Some("stb-rootfs@4.2.0")
        );
        let inv = [c("drm", "2.0.0"), c("x1-firmware", "4.1.0")];
        assert_eq!(
            firmware_of(&inv, &HashSet::new()).as_deref(),
            Some("x1-firmware@4.1.0")
        );
        assert_eq!(firmware_of(&[c("drm", "2.0.0")], &HashSet::new()), None);
    }

    #[test]
    fn online_is_heard_from_within_the_window() {
        assert!(online(Some(1_000), 1_600, 600));
        assert!(!online(Some(1_000), 1_601, 600));
        assert!(!online(None, 1_000, 600));
        assert!(online(Some(i64::MIN), i64::MAX, u64::MAX));
    }

    #[test]
    fn rates_per_thousand_device_days_by_model_and_version() {
        let key = |m: &str, f: Option<&str>| (m.to_owned(), f.map(str::to_owned));
        let hours = BTreeMap::from([
            (key("X1", Some("fw@4.2.0")), 48),
            (key("X1", Some("fw@4.1.0")), 240),
        ]);
        let faults = BTreeMap::from([(key("X1", Some("fw@4.2.0")), 4), (key("X2", None), 1)]);
        let r = fault_rates(&hours, &faults);
        assert_eq!(r.len(), 3);
        let new = r
            .iter()
            .find(|r| r.firmware.as_deref() == Some("fw@4.2.0"))
            .expect("4.2.0");
        assert_eq!((new.faults, new.device_days), (4, 2.0));
        assert_eq!(new.per_1000_device_days, Some(2000.0));
        let old = r
            .iter()
            .find(|r| r.firmware.as_deref() == Some("fw@4.1.0"))
            .expect("4.1.0");
        assert_eq!((old.faults, old.per_1000_device_days), (0, Some(0.0)));
        let x2 = r.iter().find(|r| r.model == "X2").expect("X2");
        assert_eq!(x2.per_1000_device_days, None, "faults without exposure");
    }

    #[test]
    fn missing_rates_are_explained() {
        let unrated = FaultRate {
            model: "X1".into(),
            firmware: None,
            faults: 2,
            device_days: 0.0,
            per_1000_device_days: None,
        };
        let before = rates_note(false, &[], 300).expect("explained");
        assert!(
            before.contains("not computed yet") && before.contains("300 s"),
            "{before}"
        );
        assert!(rates_note(true, std::slice::from_ref(&unrated), 300).is_some());
        let rated = FaultRate {
            device_days: 1.0,
            per_1000_device_days: Some(2000.0),
            ..unrated
        };
        assert_eq!(rates_note(true, &[rated], 300), None);
    }
}
