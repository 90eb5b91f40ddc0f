//! `wavecast subscriber`: list, show, create, change (plan, dedicated agent,
//! contact), link and unlink boxes, and issue a subscriber API token.

use chrono::{DateTime, Utc};
use clap::Subcommand;
use reqwest::Method;

use super::{client::Client, output};
use crate::{
    http::params::Counted,
    support::views::{
        LinkBody, SubscriberBody, SubscriberPatch, SubscriberTokenCreated, SubscriberView,
    },
};

#[derive(Debug, Subcommand)]
pub enum SubscriberCommand {
    /// List subscribers by account.
    List {
        /// Only subscribers on this plan.
        #[arg(long)]
        plan: Option<String>,
        /// At most this many (up to 1000).
        #[arg(long, default_value_t = 100)]
        limit: u64,
        /// Skip this many first.
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Show a subscriber with their boxes.
    Show {
        /// The account number or id.
        subscriber: String,
    },
    /// Create a subscriber.
    Create {
        /// The account number (unique).
        account: String,
        /// The subscriber's name.
        #[arg(long)]
        name: String,
        /// The plan's key, e.g. basic, premium, vip (see `wavecast plan list`).
        #[arg(long)]
        plan: String,
        /// Email address.
        #[arg(long)]
        email: Option<String>,
        /// Phone number.
        #[arg(long)]
        phone: Option<String>,
        /// The support user who takes their tickets (see `wavecast agent list`).
        #[arg(long)]
        agent: Option<String>,
    },
    /// Change a subscriber; their open tickets follow a new plan or agent.
    Set {
        /// The account number or id.
        subscriber: String,
        /// The subscriber's name.
        #[arg(long)]
        name: Option<String>,
        /// A new plan.
        #[arg(long)]
        plan: Option<String>,
        /// Email address.
        #[arg(long)]
        email: Option<String>,
        /// Phone number.
        #[arg(long)]
        phone: Option<String>,
        /// A new dedicated agent.
        #[arg(long, conflicts_with = "no_agent")]
        agent: Option<String>,
        /// Remove the dedicated agent.
        #[arg(long)]
        no_agent: bool,
    },
    /// Link a box to a subscriber; its open tickets follow.
    Link {
        /// The account number or id.
        subscriber: String,
        /// The box's serial or id.
        device: String,
        /// When the subscriber started using it (RFC 3339; default now): the warranty runs from then.
        #[arg(long)]
        activated_at: Option<DateTime<Utc>>,
    },
    /// Unlink a box from a subscriber.
    Unlink {
        /// The account number or id.
        subscriber: String,
        /// The box's serial or id.
        device: String,
    },
    /// Issue an API token for the subscriber's app or portal (shown once).
    Token {
        /// The account number or id.
        subscriber: String,
    },
}

const HEADER: &[&str] = &[
    "ACCOUNT", "NAME", "PLAN", "AGENT", "BOXES", "EMAIL", "PHONE",
];

fn rows(list: &[SubscriberView]) -> Vec<Vec<String>> {
    list.iter()
        .map(|s| {
            vec![
                s.account.clone(),
                s.name.clone(),
                s.plan.clone(),
                output::or_dash(s.dedicated_agent.as_deref()),
                if s.devices.is_empty() {
                    "-".into()
                } else {
                    s.devices
                        .iter()
                        .map(|d| d.serial.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                },
                output::or_dash(s.email.as_deref()),
                output::or_dash(s.phone.as_deref()),
            ]
        })
        .collect()
}

pub async fn run(client: &Client, cmd: SubscriberCommand, json: bool) -> anyhow::Result<()> {
    let one = |s: SubscriberView| {
        let r = rows(std::slice::from_ref(&s));
        output::print(json, &s, HEADER, r);
    };
    match cmd {
        SubscriberCommand::List {
            plan,
            limit,
            offset,
        } => {
            let mut q = vec![("limit", limit.to_string()), ("offset", offset.to_string())];
            q.extend(plan.map(|p| ("plan", p)));
            let page: Counted<SubscriberView> = client.get("api/v1/subscribers", &q).await?;
            output::print(json, &page, HEADER, rows(&page.items));
            if !json {
                eprintln!("{} of {} subscribers", page.items.len(), page.total);
            }
        }
        SubscriberCommand::Show { subscriber } => one(client
            .get(&format!("api/v1/subscribers/{subscriber}"), &[])
            .await?),
        SubscriberCommand::Create {
            account,
            name,
            plan,
            email,
            phone,
            agent,
        } => {
            let body = SubscriberBody {
                account,
                name,
                email,
                phone,
                plan,
                dedicated_agent: agent,
            };
            one(client
                .send(Method::POST, "api/v1/subscribers", &[], Some(&body))
                .await?);
        }
        SubscriberCommand::Set {
            subscriber,
            name,
            plan,
            email,
            phone,
            agent,
            no_agent,
        } => {
            let body = SubscriberPatch {
                name,
                email,
                phone,
                plan,
                dedicated_agent: if no_agent {
                    Some(None)
                } else {
                    agent.map(Some)
                },
            };
            one(client
                .send(
                    Method::PATCH,
                    &format!("api/v1/subscribers/{subscriber}"),
                    &[],
                    Some(&body),
                )
                .await?);
        }
        SubscriberCommand::Link {
            subscriber,
            device,
            activated_at,
        } => {
            let body = LinkBody {
                device,
                activated_at,
            };
            one(client
                .send(
                    Method::POST,
                    &format!("api/v1/subscribers/{subscriber}/devices"),
                    &[],
                    Some(&body),
                )
                .await?);
        }
        SubscriberCommand::Unlink { subscriber, device } => {
            client
                .call::<()>(
                    Method::DELETE,
                    &format!("api/v1/subscribers/{subscriber}/devices/{device}"),
                    None,
                )
                .await?;
            if !json {
                eprintln!("box {device} unlinked from {subscriber}");
            }
        }
        SubscriberCommand::Token { subscriber } => {
            let t: SubscriberTokenCreated = client
                .send::<(), _>(
                    Method::POST,
                    &format!("api/v1/subscribers/{subscriber}/tokens"),
                    &[],
                    None,
                )
                .await?;
            if json {
                output::json(&t);
            } else {
                crate::outln!("{}", t.token);
                eprintln!(
                    "subscriber token {} created; this is the only time its text is shown",
                    t.prefix
                );
            }
        }
    }
    Ok(())
}
