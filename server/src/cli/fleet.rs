//! `wavecast fleet summary`: boxes online, versions by model, and fault
//! rates per 1,000 device-days by model and firmware.

use clap::Subcommand;

use super::{client::Client, output};
use crate::fleet::views::FleetSummary;

#[derive(Debug, Subcommand)]
pub enum FleetCommand {
    /// Boxes online, versions by model, fault rates.
    Summary {
        /// Over the last this many days (1 to 400).
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
}

pub async fn run(client: &Client, cmd: FleetCommand, json: bool) -> anyhow::Result<()> {
    let FleetCommand::Summary { days } = cmd;
    let s: FleetSummary = client
        .get("api/v1/fleet/summary", &[("days", days.to_string())])
        .await?;
    if json {
        output::json(&s);
        return Ok(());
    }
    let mut out = format!(
        "{} boxes, {} online (heard from within {})\n\n",
        s.devices,
        s.online,
        output::span(i64::try_from(s.online_secs).unwrap_or(i64::MAX))
    );
    let versions = s
        .versions
        .iter()
        .map(|v| {
            vec![
                v.model.clone(),
                output::or_dash(v.firmware.as_deref()),
                v.devices.to_string(),
                v.online.to_string(),
            ]
        })
        .collect();
    out.push_str(&output::table(
        &["MODEL", "FIRMWARE", "BOXES", "ONLINE"],
        versions,
    ));
    out.push_str(&format!("\n\nFault rates over {} day(s)\n", s.days));
    if s.fault_rates.is_empty() {
        out.push_str("no faults and no health reports in the period\n");
    }
    let rates = s
        .fault_rates
        .iter()
        .map(|r| {
            vec![
                r.model.clone(),
                output::or_dash(r.firmware.as_deref()),
                r.faults.to_string(),
                format!("{:.1}", r.device_days),
                r.per_1000_device_days
                    .map_or_else(|| "not yet".into(), |v| format!("{v:.1}")),
            ]
        })
        .collect();
    if !s.fault_rates.is_empty() {
        out.push_str(&output::table(
            &[
                "MODEL",
                "FIRMWARE",
                "FAULTS",
                "DEVICE-DAYS",
                "PER 1,000 DEVICE-DAYS",
            ],
            rates,
        ));
        out.push('\n');
    }
    if let Some(note) = &s.rates_note {
        out.push_str(&format!("\nnote: {note}\n"));
    }
    output::text(&out);
    Ok(())
}
