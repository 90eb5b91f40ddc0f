//! What boxes report, as rules: the two kinds of event ([`EventKind`]),
//! and health metrics by name: the typed core of a health report
//! (`cpu_percent`, `load1`, `temperature_c`, `mem_available_kib`, …), one
//! per file system (`storage_used_bytes:/data`, `storage_wear_percent:/data`)
//! and the collectors' named extras (`decoder_errors`, …), so a series query
//! reads one number per report whatever its source.
//!
//! Reports are also rolled up by the hour ([`rollup`]: count, sum, minimum
//! and maximum of every metric), which long-range series read once the raw
//! reports have passed their retention ([`resolution`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wavecast_protocol::events::HealthReport;

/// The kinds of event a box sends, as the `type` of its events and the
/// `?type=` filter of `GET /api/v1/devices/{ref}/events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Health,
    Fault,
}

crate::platform::text::text_enum!(EventKind, "event kind", Health => "health", Fault => "fault");

impl EventKind {
    /// The kind of an event as sent.
    pub fn of(event: &wavecast_protocol::events::Event) -> Self {
        match event.body {
            wavecast_protocol::events::EventBody::Health(_) => EventKind::Health,
            wavecast_protocol::events::EventBody::Fault(_) => EventKind::Fault,
        }
    }
}

/// Seconds in an hour, the rollup period.
pub const HOUR: i64 = 3600;

/// The start of the hour holding `at` (Unix seconds).
pub fn hour_of(at: i64) -> i64 {
    at.div_euclid(HOUR) * HOUR
}

/// The typed core's metric names, in the order the API lists them.
pub const CORE: &[&str] = &[
    "uptime_secs",
    "cpu_percent",
    "load1",
    "mem_total_kib",
    "mem_available_kib",
    "temperature_c",
    "net_rx_bytes",
    "net_tx_bytes",
];

/// The names of the metrics `report` carries, as series queries name them.
pub fn names_in(report: &HealthReport) -> Vec<String> {
    all(report).into_iter().map(|(name, _)| name).collect()
}

/// The value of metric `name` in `report`, if the report has it.
pub fn value(report: &HealthReport, name: &str) -> Option<f64> {
    // Counters above 2^53 lose precision as f64; no box counts that high.
    #[allow(clippy::cast_precision_loss)]
    let u = |v: Option<u64>| v.map(|v| v as f64);
    let f = |v: Option<f32>| v.map(f64::from);
    match name {
        "uptime_secs" => u(report.uptime_secs),
        "cpu_percent" => f(report.cpu_percent),
        "load1" => f(report.load1),
        "mem_total_kib" => u(report.mem_total_kib),
        "mem_available_kib" => u(report.mem_available_kib),
        "temperature_c" => f(report.temperature_c),
        "net_rx_bytes" => u(report.net_rx_bytes),
        "net_tx_bytes" => u(report.net_tx_bytes),
        _ => {
            if let Some(mount) = name.strip_prefix("storage_used_bytes:") {
                let s = report.storage.iter().find(|s| s.mount == mount)?;
                return u(Some(s.used_bytes));
            }
            if let Some(mount) = name.strip_prefix("storage_wear_percent:") {
                let s = report.storage.iter().find(|s| s.mount == mount)?;
                return s.wear_percent.map(f64::from);
            }
            report.metrics.get(name).copied()
        }
    }
}

/// Every metric `report` carries, by name.
pub fn all(report: &HealthReport) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = CORE
        .iter()
        .filter_map(|n| Some(((*n).to_owned(), value(report, n)?)))
        .collect();
    #[allow(clippy::cast_precision_loss)]
    for s in &report.storage {
        out.push((
            format!("storage_used_bytes:{}", s.mount),
            s.used_bytes as f64,
        ));
        if let Some(w) = s.wear_percent {
            out.push((format!("storage_wear_percent:{}", s.mount), f64::from(w)));
        }
    }
    out.extend(report.metrics.iter().map(|(k, v)| (k.clone(), *v)));
    out
}

/// One metric over one hour. Stored as `[count, sum, min, max]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "[f64; 4]", into = "[f64; 4]")]
pub struct Agg {
    pub count: u32,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl From<[f64; 4]> for Agg {
    fn from([count, sum, min, max]: [f64; 4]) -> Self {
        // Counts are whole numbers the rollup itself wrote.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let count = count.clamp(0.0, f64::from(u32::MAX)) as u32;
        Self {
            count,
            sum,
            min,
            max,
        }
    }
}

impl From<Agg> for [f64; 4] {
    fn from(a: Agg) -> Self {
        [f64::from(a.count), a.sum, a.min, a.max]
    }
}

impl Agg {
    fn of(v: f64) -> Self {
        Self {
            count: 1,
            sum: v,
            min: v,
            max: v,
        }
    }

    fn add(&mut self, v: f64) {
        self.count = self.count.saturating_add(1);
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// The hour's mean.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / f64::from(self.count)
        }
    }
}

/// Every metric of some reports, rolled up.
pub type Rollup = BTreeMap<String, Agg>;

/// Rolls up `reports` (one box's, within one hour).
pub fn rollup<'a>(reports: impl IntoIterator<Item = &'a HealthReport>) -> Rollup {
    let mut out = Rollup::new();
    for r in reports {
        for (name, v) in all(r) {
            out.entry(name)
                .and_modify(|a| a.add(v))
                .or_insert_with(|| Agg::of(v));
        }
    }
    out
}

/// Where a series is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Every report.
    Raw,
    /// Hourly rollups.
    Hour,
}

/// The longest range read from raw reports by default: 31 days.
pub const MAX_RAW_SPAN: i64 = 31 * 86_400;

/// The resolution a series over `span` seconds reads by default: raw
/// reports up to [`MAX_RAW_SPAN`], hourly rollups beyond. (Ranges older
/// than the raw retention need `resolution=hour` asked for.)
pub fn resolution(span: i64) -> Resolution {
    if span <= MAX_RAW_SPAN {
        Resolution::Raw
    } else {
        Resolution::Hour
    }
}

/// A metric name a query may ask for: 1 to 300 printable ASCII characters
/// without spaces (core names, `storage_…:/mount`, collector names).
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 300 || !name.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "metric {name:?} must be 1 to 300 printable characters without spaces"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use wavecast_protocol::events::StorageUse;

    use super::*;

    fn report() -> HealthReport {
        HealthReport {
            at: 1_700_000_000,
            cpu_percent: Some(12.5),
            mem_available_kib: Some(524_288),
            storage: vec![StorageUse {
                mount: "/data".into(),
                total_bytes: 4 << 30,
                used_bytes: 1 << 30,
                wear_percent: Some(7),
            }],
            metrics: [("decoder_errors".to_owned(), 3.0)].into(),
            ..HealthReport::default()
        }
    }

    #[test]
    fn a_report_names_its_metrics_as_queries_name_them() {
        let names = names_in(&report());
        assert_eq!(
            names,
            [
                "cpu_percent",
                "mem_available_kib",
                "storage_used_bytes:/data",
                "storage_wear_percent:/data",
                "decoder_errors"
            ]
        );
        for n in &names {
            assert!(value(&report(), n).is_some(), "{n} reads back");
        }
    }

    #[test]
    fn every_source_of_a_metric_reads_by_name() {
        let r = report();
        assert_eq!(value(&r, "cpu_percent"), Some(12.5));
        assert_eq!(value(&r, "mem_available_kib"), Some(524_288.0));
        assert_eq!(
            value(&r, "storage_used_bytes:/data"),
            Some(f64::from(1u32 << 30))
        );
        assert_eq!(value(&r, "storage_wear_percent:/data"), Some(7.0));
        assert_eq!(value(&r, "decoder_errors"), Some(3.0));
    }

    #[test]
    fn a_rollup_counts_sums_and_bounds_each_metric_it_saw() {
        let a = report();
        let b = HealthReport {
            cpu_percent: Some(7.5),
            metrics: [("decoder_errors".to_owned(), 5.0)].into(),
            ..HealthReport::default()
        };
        let r = rollup([&a, &b]);
        let cpu = r["cpu_percent"];
        assert_eq!((cpu.count, cpu.sum, cpu.min, cpu.max), (2, 20.0, 7.5, 12.5));
        assert!((cpu.mean() - 10.0).abs() < 1e-9);
        assert_eq!(r["storage_wear_percent:/data"].count, 1);
        assert_eq!(r["decoder_errors"].max, 5.0);
        assert!(!r.contains_key("temperature_c"), "only what was reported");
        let stored = serde_json::to_value(&r).expect("encode");
        assert_eq!(
            stored["cpu_percent"],
            serde_json::json!([2.0, 20.0, 7.5, 12.5])
        );
        let back: Rollup = serde_json::from_value(stored).expect("decode");
        assert_eq!(back, r);
    }

    #[test]
    fn hours_and_resolutions() {
        assert_eq!(hour_of(7_199), 3_600);
        assert_eq!(hour_of(7_200), 7_200);
        assert_eq!(hour_of(-1), -3_600);
        assert_eq!(resolution(MAX_RAW_SPAN), Resolution::Raw);
        assert_eq!(resolution(MAX_RAW_SPAN + 1), Resolution::Hour);
    }

    #[test]
    fn what_a_report_lacks_is_none_not_zero() {
        let r = report();
        assert_eq!(value(&r, "temperature_c"), None);
        assert_eq!(value(&r, "storage_used_bytes:/"), None);
        assert_eq!(value(&r, "hdcp_failures"), None);
        for name in CORE {
            assert!(check_name(name).is_ok());
        }
        assert!(check_name("has space").is_err());
        assert!(check_name("").is_err());
    }
}
