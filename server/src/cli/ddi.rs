//! `wavecast ddi`: boxes that run a hawkBit DDI client (SWUpdate,
//! rauc-hawkbit-updater) — register one and get its `TargetToken`, show
//! it, issue a new token or revoke it.

use clap::Subcommand;
use reqwest::Method;

use super::{client::Client, output};
use crate::ddi::views::{TargetBody, TargetToken, TargetView};

#[derive(Debug, Subcommand)]
pub enum DdiCommand {
    /// Register a box by the controller id its client is configured with;
    /// prints its TargetToken, shown only this once.
    Register {
        /// The controller id its client is configured with (SWUpdate's `-i`).
        controller_id: String,
        /// Its model (its configData's `model` replaces it).
        #[arg(long)]
        model: Option<String>,
        /// Its hardware revision (its configData's `hardware_revision` replaces it).
        #[arg(long)]
        revision: Option<String>,
    },
    /// A DDI box: its token's prefix and the attributes it sent.
    Show {
        /// The box's controller id.
        controller_id: String,
    },
    /// Issue a new TargetToken (the old one stops working), shown only this once.
    Token {
        /// The box's controller id.
        controller_id: String,
    },
    /// Revoke the box's TargetToken.
    Revoke {
        /// The box's controller id.
        controller_id: String,
    },
}

fn rows(t: &TargetView) -> Vec<Vec<String>> {
    let attributes = t
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    vec![vec![
        t.controller_id.clone(),
        t.device_id.to_string(),
        t.token_prefix.clone().unwrap_or_else(|| "-".into()),
        if attributes.is_empty() {
            "-".into()
        } else {
            attributes
        },
    ]]
}

const HEADER: [&str; 4] = ["CONTROLLER", "DEVICE", "TOKEN", "ATTRIBUTES"];

/// Prints a new token: the token alone on stdout (for scripts), or JSON.
fn print_token(json: bool, t: &TargetToken) {
    if json {
        output::json(t);
    } else {
        output::text(&format!("{}\n", t.token));
        eprintln!(
            "TargetToken for {} (device {}); this is the only time its text is shown",
            t.target.controller_id, t.target.device_id
        );
    }
}

pub async fn run(client: &Client, cmd: DdiCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        DdiCommand::Register {
            controller_id,
            model,
            revision,
        } => {
            let body = TargetBody {
                controller_id,
                model,
                hardware_revision: revision,
            };
            let t: TargetToken = client
                .send(Method::POST, "api/v1/ddi/targets", &[], Some(&body))
                .await?;
            print_token(json, &t);
        }
        DdiCommand::Show { controller_id } => {
            let t: TargetView = client
                .get(&format!("api/v1/ddi/targets/{controller_id}"), &[])
                .await?;
            output::print(json, &t, &HEADER, rows(&t));
        }
        DdiCommand::Token { controller_id } => {
            let t: TargetToken = client
                .send(
                    Method::POST,
                    &format!("api/v1/ddi/targets/{controller_id}/token"),
                    &[],
                    None::<&()>,
                )
                .await?;
            print_token(json, &t);
        }
        DdiCommand::Revoke { controller_id } => {
            let t: TargetView = client
                .send(
                    Method::DELETE,
                    &format!("api/v1/ddi/targets/{controller_id}/token"),
                    &[],
                    None::<&()>,
                )
                .await?;
            output::print(json, &t, &HEADER, rows(&t));
        }
    }
    Ok(())
}
