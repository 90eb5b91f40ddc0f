//! A box's telemetry as chart data, pure: which metrics to draw and in
//! what order, their labels and units, each series' points (with the
//! hourly minimum and maximum as a band), and the markers where the
//! firmware changed and where faults happened. The page hands each chart
//! its data in a JSON block; `assets/app.js` draws it with uPlot.

use serde::Serialize;

use crate::fleet::views::Series;

/// The ranges a device page offers: key, label, seconds.
pub const RANGES: [(&str, &str, i64); 4] = [
    ("24h", "24 h", 86_400),
    ("7d", "7 days", 7 * 86_400),
    ("31d", "31 days", 31 * 86_400),
    ("400d", "400 days", 400 * 86_400),
];

/// The range `key` names, or 24 hours.
pub fn range(key: Option<&str>) -> (&'static str, i64) {
    RANGES
        .iter()
        .find(|(k, _, _)| Some(*k) == key)
        .map_or(("24h", 86_400), |(k, _, secs)| (*k, *secs))
}

/// The metrics drawn first, in this order; the rest follow by name.
const FIRST: [&str; 6] = [
    "temperature_c",
    "cpu_percent",
    "mem_available_kib",
    "load1",
    "uptime_secs",
    "net_rx_bytes",
];

/// At most this many charts on a page.
pub const MAX_CHARTS: usize = 12;

/// A metric's label and unit.
pub fn label(metric: &str) -> (String, &'static str) {
    match metric {
        "temperature_c" => ("Temperature".into(), "°C"),
        "cpu_percent" => ("CPU".into(), "%"),
        "mem_available_kib" => ("Memory available".into(), "KiB"),
        "mem_total_kib" => ("Memory".into(), "KiB"),
        "load1" => ("Load, 1 min".into(), ""),
        "uptime_secs" => ("Uptime".into(), "s"),
        "net_rx_bytes" => ("Received".into(), "bytes"),
        "net_tx_bytes" => ("Sent".into(), "bytes"),
        other => match other.split_once(':') {
            Some(("storage_used_bytes", mount)) => (format!("Storage used, {mount}"), "bytes"),
            Some(("storage_wear_percent", mount)) => (format!("Storage wear, {mount}"), "%"),
            _ => (other.replace('_', " "), ""),
        },
    }
}

/// The order charts are drawn in.
pub fn order(a: &str, b: &str) -> std::cmp::Ordering {
    let rank = |m: &str| FIRST.iter().position(|f| *f == m).unwrap_or(FIRST.len());
    rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
}

/// A vertical marker on every chart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Marker {
    /// Unix seconds.
    pub at: i64,
    /// `firmware` or `fault`.
    pub kind: &'static str,
    pub label: String,
}

/// One drawn series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub label: String,
    pub unit: &'static str,
    pub values: Vec<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<Vec<f64>>,
}

/// One chart's data, as `app.js` reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    pub metric: String,
    pub x: Vec<i64>,
    pub series: Vec<Line>,
    pub markers: Vec<Marker>,
}

/// The charts of `series`, ordered, at most [`MAX_CHARTS`], each with
/// `markers` inside its range.
pub fn charts(mut series: Vec<Series>, markers: &[Marker]) -> Vec<Chart> {
    series.retain(|s| !s.points.is_empty());
    series.sort_by(|a, b| order(&a.metric, &b.metric));
    series
        .into_iter()
        .take(MAX_CHARTS)
        .map(|s| {
            let (label, unit) = label(&s.metric);
            let hourly = !s.hourly.is_empty();
            let line = Line {
                label,
                unit,
                values: s.points.iter().map(|p| p.1).collect(),
                min: hourly.then(|| s.hourly.iter().map(|h| h.min).collect()),
                max: hourly.then(|| s.hourly.iter().map(|h| h.max).collect()),
            };
            Chart {
                x: s.points.iter().map(|p| p.0).collect(),
                series: vec![line],
                markers: markers
                    .iter()
                    .filter(|m| m.at >= s.from && m.at <= s.to)
                    .cloned()
                    .collect(),
                metric: s.metric,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::{telemetry::rules::Resolution, views::HourPoint};

    fn series(metric: &str, points: &[(i64, f64)]) -> Series {
        Series {
            device_id: uuid::Uuid::nil(),
            metric: metric.into(),
            from: 0,
            to: 100,
            resolution: Resolution::Raw,
            points: points.to_vec(),
            hourly: vec![],
            truncated: false,
        }
    }

    #[test]
    fn charts_come_in_order_with_their_markers() {
        let markers = [
            Marker {
                at: 50,
                kind: "firmware",
                label: "x1-firmware@4.2.0".into(),
            },
            Marker {
                at: 500,
                kind: "fault",
                label: "HW-HDMI-001".into(),
            },
        ];
        let c = charts(
            vec![
                series("decoder_errors", &[(10, 1.0)]),
                series("temperature_c", &[(10, 40.0), (20, 41.5)]),
                series("cpu_percent", &[]),
            ],
            &markers,
        );
        assert_eq!(
            c.iter().map(|c| c.metric.as_str()).collect::<Vec<_>>(),
            ["temperature_c", "decoder_errors"]
        );
        assert_eq!(c[0].x, [10, 20]);
        assert_eq!(c[0].series[0].values, [40.0, 41.5]);
        assert_eq!(c[0].series[0].unit, "°C");
        assert_eq!(c[0].markers.len(), 1, "only the markers in range");
    }

    #[test]
    fn hourly_series_carry_their_band() {
        let mut s = series("cpu_percent", &[(3600, 20.0)]);
        s.hourly = vec![HourPoint {
            at: 3600,
            count: 60,
            mean: 20.0,
            min: 5.0,
            max: 90.0,
        }];
        s.to = 7200;
        let c = charts(vec![s], &[]);
        assert_eq!(c[0].series[0].min.as_deref(), Some(&[5.0][..]));
        assert_eq!(c[0].series[0].max.as_deref(), Some(&[90.0][..]));
        assert_eq!(range(Some("7d")), ("7d", 7 * 86_400));
        assert_eq!(range(Some("nonsense")), ("24h", 86_400));
        assert_eq!(label("storage_used_bytes:/data").0, "Storage used, /data");
    }
}
