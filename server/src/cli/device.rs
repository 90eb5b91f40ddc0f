//! `wavecast device`: list, show, accept, reject, decommission, and import
//! pre-authorised serials from a manufacturing CSV.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;
use reqwest::Method;

use super::{client::Client, output};
use crate::{
    fleet::views::{DeviceView, ImportResult},
    http::params::Counted,
};

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// List devices.
    List {
        /// pending, accepted, rejected or decommissioned.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        model: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u64,
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Show a device (by id or serial).
    Show { reference: String },
    /// Accept a pending device.
    Accept { reference: String },
    /// Reject a pending device.
    Reject { reference: String },
    /// Retire a device: its credential stops working and it cannot enrol again.
    Decommission { reference: String },
    /// Pre-authorise serials from a CSV (`serial[,model]` per line).
    Import { file: PathBuf },
}

const HEADER: &[&str] = &[
    "SERIAL",
    "MODEL",
    "REV",
    "STATUS",
    "AGENT",
    "LAST SEEN",
    "ID",
];

fn rows(devices: &[DeviceView]) -> Vec<Vec<String>> {
    devices
        .iter()
        .map(|d| {
            vec![
                d.serial.clone(),
                d.model.clone(),
                d.hardware_revision.clone(),
                d.status.to_string(),
                d.agent_version.clone().unwrap_or_else(|| "-".into()),
                output::time(d.last_seen_at),
                d.id.to_string(),
            ]
        })
        .collect()
}

pub async fn run(client: &Client, cmd: DeviceCommand, json: bool) -> anyhow::Result<()> {
    let one = |d: DeviceView| {
        let r = rows(std::slice::from_ref(&d));
        output::print(json, &d, HEADER, r);
    };
    match cmd {
        DeviceCommand::List {
            status,
            model,
            limit,
            offset,
        } => {
            let mut q = vec![("limit", limit.to_string()), ("offset", offset.to_string())];
            q.extend(status.map(|s| ("status", s)));
            q.extend(model.map(|m| ("model", m)));
            let page: Counted<DeviceView> = client.get("api/v1/devices", &q).await?;
            output::print(json, &page, HEADER, rows(&page.items));
            if !json {
                eprintln!("{} of {} devices", page.items.len(), page.total);
            }
        }
        DeviceCommand::Show { reference } => one(client
            .get(&format!("api/v1/devices/{reference}"), &[])
            .await?),
        DeviceCommand::Accept { reference } => one(action(client, &reference, "accept").await?),
        DeviceCommand::Reject { reference } => one(action(client, &reference, "reject").await?),
        DeviceCommand::Decommission { reference } => {
            one(action(client, &reference, "decommission").await?)
        }
        DeviceCommand::Import { file } => {
            let csv = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let len = csv.len() as u64;
            let (_, r): (u16, ImportResult) = client
                .upload("api/v1/devices/import", &[], csv.into(), len)
                .await?;
            if json {
                output::print(true, &r, &[], vec![]);
            } else {
                println!(
                    "{} serials pre-authorised ({} already were); {} waiting devices accepted",
                    r.added, r.already, r.accepted
                );
            }
        }
    }
    Ok(())
}

async fn action(client: &Client, reference: &str, action: &str) -> anyhow::Result<DeviceView> {
    client
        .send::<(), _>(
            Method::POST,
            &format!("api/v1/devices/{reference}/{action}"),
            &[],
            None,
        )
        .await
}
