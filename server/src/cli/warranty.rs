//! `wavecast warranty`: the warranty period of each box model, and one
//! box's activation date and void flag.

use chrono::{DateTime, Utc};
use clap::Subcommand;
use reqwest::Method;

use super::{client::Client, device::warranty_text, output};
use crate::support::views::{DeviceWarranty, DeviceWarrantyBody, WarrantyBody, WarrantyPeriod};

#[derive(Debug, Subcommand)]
pub enum WarrantyCommand {
    /// The warranty period of each model.
    List,
    /// Set a model's warranty period.
    Set {
        /// The box model, as boxes report it.
        model: String,
        /// Months of warranty from a box's activation.
        months: i32,
    },
    /// Set a box's activation date, or void or restore its warranty.
    Device {
        /// The box's serial or id.
        device: String,
        /// When the subscriber started using it (RFC 3339).
        #[arg(long)]
        activated_at: Option<DateTime<Utc>>,
        /// Void the warranty, for this reason (physical damage, tampering…).
        #[arg(long, conflicts_with = "restore")]
        void: Option<String>,
        /// Restore a voided warranty.
        #[arg(long)]
        restore: bool,
    },
}

pub async fn run(client: &Client, cmd: WarrantyCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        WarrantyCommand::List => {
            let all: Vec<WarrantyPeriod> = client.get("api/v1/warranties", &[]).await?;
            let rows = all
                .iter()
                .map(|w| vec![w.model.clone(), w.months.to_string()])
                .collect();
            output::print(json, &all, &["MODEL", "MONTHS"], rows);
        }
        WarrantyCommand::Set { model, months } => {
            client
                .call(
                    Method::PUT,
                    &format!("api/v1/warranties/{model}"),
                    Some(&WarrantyBody { months }),
                )
                .await?;
            let all: Vec<WarrantyPeriod> = client.get("api/v1/warranties", &[]).await?;
            let this: Vec<WarrantyPeriod> = all.into_iter().filter(|w| w.model == model).collect();
            let rows = this
                .iter()
                .map(|w| vec![w.model.clone(), w.months.to_string()])
                .collect();
            output::print(json, &this, &["MODEL", "MONTHS"], rows);
        }
        WarrantyCommand::Device {
            device,
            activated_at,
            void,
            restore,
        } => {
            let body = DeviceWarrantyBody {
                activated_at,
                void_reason: if restore { Some(None) } else { void.map(Some) },
            };
            let w: DeviceWarranty = client
                .send(
                    Method::PATCH,
                    &format!("api/v1/devices/{device}/warranty"),
                    &[],
                    Some(&body),
                )
                .await?;
            output::print(
                json,
                &w,
                &["SERIAL", "ACTIVATED", "WARRANTY"],
                vec![vec![
                    w.device.serial.clone(),
                    output::time(w.device.activated_at),
                    warranty_text(&w.warranty),
                ]],
            );
        }
    }
    Ok(())
}
