//! Printing results: aligned tables for people, JSON with `--json`.

use chrono::{DateTime, Utc};
use comfy_table::{presets::NOTHING, Table};
use serde::Serialize;

/// Prints `rows` under `header`, or `value` as JSON when `json` is set.
pub fn print<T: Serialize>(json: bool, value: &T, header: &[&str], rows: Vec<Vec<String>>) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
        return;
    }
    let mut table = Table::new();
    table.load_preset(NOTHING).set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    println!("{table}");
}

/// A timestamp for tables: minutes precision, or `-`.
pub fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}
