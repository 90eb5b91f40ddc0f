//! `wavecast agent`: support agents, the ticket queues they work and
//! whether they are on shift (new tickets go round-robin among those on
//! shift, or to a VIP's dedicated agent).

use clap::Subcommand;
use reqwest::Method;

use super::{client::Client, output};
use crate::support::{
    tickets::rules::TicketKind,
    views::{AgentBody, AgentView},
};

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Support agents with their queues and shift.
    List,
    /// Make a support user an agent, or change their queues or shift.
    Set {
        /// The support user's name.
        user: String,
        /// The ticket kinds they work (comma-separated: warranty,repair,support).
        #[arg(long, value_delimiter = ',', required = true)]
        queues: Vec<TicketKind>,
        /// On shift (they get new tickets).
        #[arg(long, conflicts_with = "off_shift")]
        on_shift: bool,
        /// Off shift.
        #[arg(long)]
        off_shift: bool,
    },
}

const HEADER: &[&str] = &["USER", "QUEUES", "ON SHIFT", "LAST ASSIGNED"];

fn rows(list: &[AgentView]) -> Vec<Vec<String>> {
    list.iter()
        .map(|a| {
            vec![
                output::or_dash(a.user.as_deref()),
                a.queues
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                if a.on_shift { "yes" } else { "no" }.into(),
                output::time(a.last_assigned_at),
            ]
        })
        .collect()
}

pub async fn run(client: &Client, cmd: AgentCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        AgentCommand::List => {
            let list: Vec<AgentView> = client.get("api/v1/support-agents", &[]).await?;
            output::print(json, &list, HEADER, rows(&list));
        }
        AgentCommand::Set {
            user,
            queues,
            on_shift,
            off_shift,
        } => {
            let body = AgentBody {
                queues,
                on_shift: on_shift || !off_shift,
            };
            client
                .call(
                    Method::PUT,
                    &format!("api/v1/support-agents/{user}"),
                    Some(&body),
                )
                .await?;
            let all: Vec<AgentView> = client.get("api/v1/support-agents", &[]).await?;
            let mine: Vec<AgentView> = all
                .into_iter()
                .filter(|a| a.user.as_deref() == Some(user.as_str()))
                .collect();
            output::print(json, &mine, HEADER, rows(&mine));
        }
    }
    Ok(())
}
