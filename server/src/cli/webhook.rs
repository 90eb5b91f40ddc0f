//! `wavecast webhook`: endpoints of an outside helpdesk that receive ticket
//! events (signed with HMAC), with their delivery counts.

use clap::Subcommand;
use reqwest::Method;

use super::{client::Client, output};
use crate::support::views::{WebhookBody, WebhookCreated, WebhookView};

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Endpoints with their pending, failed and delivered counts.
    List,
    /// Add an endpoint; its HMAC secret is printed once.
    Add {
        /// The endpoint's URL (https).
        url: String,
        /// Event names, comma-separated (ticket.opened, ticket.sla_breached, …), or * for all.
        #[arg(long, value_delimiter = ',', default_value = "*")]
        events: Vec<String>,
        /// The HMAC key (default: generated).
        #[arg(long)]
        secret: Option<String>,
    },
    /// Remove an endpoint.
    Remove {
        /// The endpoint's id.
        id: String,
    },
}

pub async fn run(client: &Client, cmd: WebhookCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        WebhookCommand::List => {
            let list: Vec<WebhookView> = client.get("api/v1/webhooks", &[]).await?;
            let rows = list
                .iter()
                .map(|w| {
                    vec![
                        w.id.to_string(),
                        w.url.clone(),
                        w.events.join(","),
                        if w.active { "active" } else { "inactive" }.into(),
                        w.pending.to_string(),
                        w.failed.to_string(),
                        w.delivered.to_string(),
                    ]
                })
                .collect();
            output::print(
                json,
                &list,
                &[
                    "ID",
                    "URL",
                    "EVENTS",
                    "STATE",
                    "PENDING",
                    "FAILED",
                    "DELIVERED",
                ],
                rows,
            );
        }
        WebhookCommand::Add {
            url,
            events,
            secret,
        } => {
            let body = WebhookBody {
                url,
                events,
                secret,
            };
            let w: WebhookCreated = client
                .send(Method::POST, "api/v1/webhooks", &[], Some(&body))
                .await?;
            if json {
                output::json(&w);
            } else {
                crate::outln!("{}", w.secret);
                eprintln!(
                    "webhook {} added for {}; the secret above is shown only now",
                    w.id, w.url
                );
            }
        }
        WebhookCommand::Remove { id } => {
            client
                .call::<()>(Method::DELETE, &format!("api/v1/webhooks/{id}"), None)
                .await?;
            if !json {
                eprintln!("webhook {id} removed");
            }
        }
    }
    Ok(())
}
