//! Printing results: aligned tables and field lists for people, JSON with
//! `--json`, sparklines for series. Everything goes through [`text`], so a
//! reader that went away (`wavecast audit list | head`) ends the program
//! quietly, as Unix tools do, instead of a panic on the closed pipe.

use std::io::Write as _;

use chrono::{DateTime, Utc};
use comfy_table::{presets::NOTHING, Table};
use serde::Serialize;

/// Writes `s` to standard output. A closed pipe ends the program with
/// success (the reader has what it wanted); another write error ends it
/// with a message.
pub fn text(s: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("wavecast: error: cannot write the output: {e}");
        std::process::exit(1);
    }
}

/// [`text`] with a newline, formatted like `println!`.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::cli::output::text("\n")
    };
    ($($arg:tt)*) => {
        $crate::cli::output::text(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `value` as pretty JSON.
pub fn json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => text(&format!("{s}\n")),
        Err(e) => eprintln!("wavecast: error: cannot print JSON: {e}"),
    }
}

/// Prints `rows` under `header`, or `value` as JSON when `json` is set.
pub fn print<T: Serialize>(json: bool, value: &T, header: &[&str], rows: Vec<Vec<String>>) {
    if json {
        self::json(value);
        return;
    }
    text(&format!("{}\n", table(header, rows)));
}

/// An aligned table without borders.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table.load_preset(NOTHING).set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}

/// `name: value` lines, the names aligned, for one record.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut s = String::new();
    for (k, v) in pairs {
        s.push_str(&format!("{k:<width$}  {v}\n"));
    }
    s
}

/// A section heading between blocks of a record.
pub fn heading(title: &str) -> String {
    format!("\n{title}\n")
}

/// A timestamp for tables: minutes precision, or `-`.
pub fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// An optional value, or `-`.
pub fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// A duration in seconds the way people say it: `90 s`, `45 min`, `8 h`,
/// `3 d`.
pub fn span(secs: i64) -> String {
    let a = secs.unsigned_abs();
    let s = match a {
        0..=119 => format!("{a} s"),
        120..=7_199 => format!("{} min", a / 60),
        7_200..=172_799 => format!("{} h", a / 3600),
        _ => format!("{} d", a / 86_400),
    };
    if secs < 0 {
        format!("-{s}")
    } else {
        s
    }
}

/// The eight block heights of a sparkline.
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A one-line chart of `values`, at most `width` characters: each
/// character the mean of its share of the values, scaled between their
/// minimum and maximum.
pub fn sparkline(values: &[f64], width: usize) -> String {
    let values: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let cells = width.min(values.len());
    let means: Vec<f64> = (0..cells)
        .map(|i| {
            let from = i * values.len() / cells;
            let to = ((i + 1) * values.len() / cells).max(from + 1);
            let part = &values[from..to];
            // At most a few thousand points: the count fits in f64 exactly.
            #[allow(clippy::cast_precision_loss)]
            let n = part.len() as f64;
            part.iter().sum::<f64>() / n
        })
        .collect();
    let lo = means.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = means.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    means
        .iter()
        .map(|v| {
            if hi - lo <= f64::EPSILON {
                BARS[3]
            } else {
                // In 0..=7 by construction.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let i = (((v - lo) / (hi - lo)) * 7.0).round() as usize;
                BARS[i.min(7)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparkline_spans_the_range() {
        assert_eq!(
            sparkline(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 8),
            "▁▂▃▄▅▆▇█"
        );
        assert_eq!(
            sparkline(&[5.0, 5.0, 5.0], 10),
            "▄▄▄",
            "flat, one cell per point"
        );
        assert_eq!(sparkline(&[], 10), "");
        let long: Vec<f64> = (0..1000).map(f64::from).collect();
        let line = sparkline(&long, 40);
        assert_eq!(line.chars().count(), 40);
        assert!(line.starts_with('▁') && line.ends_with('█'), "{line}");
    }

    #[test]
    fn spans_read_as_people_say_them() {
        assert_eq!(span(90), "90 s");
        assert_eq!(span(45 * 60), "45 min");
        assert_eq!(span(8 * 3600), "8 h");
        assert_eq!(span(-3 * 86_400), "-3 d");
    }
}
