//! Health metrics by name: the typed core of a health report
//! (`cpu_percent`, `load1`, `temperature_c`, `mem_available_kib`, …), one
//! per file system (`storage_used_bytes:/data`, `storage_wear_percent:/data`)
//! and the collectors' named extras (`decoder_errors`, …), so a series query
//! reads one number per report whatever its source.

use wavecast_protocol::events::HealthReport;

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
