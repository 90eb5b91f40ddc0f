//! The `wavecast` command line: `serve`, `migrate`, `config`, the local key
//! and bundle tools, and a command for every resource a person works with,
//! over the management API (tables by default, `--json` for scripts).
//!
//! Connection options (`--server`, `--token`, `--json`) belong to the
//! commands that talk to a server ([`Api`]), so `serve --help` does not list
//! them; they may also come first (`wavecast --json rollout list`).

// Output goes through `output::text`, which survives a closed pipe.
#![deny(clippy::print_stdout)]

mod agent;
pub mod bundle;
mod bundle_verify;
mod catalog;
mod client;
mod ddi;
mod device;
mod fleet;
mod identity;
pub mod keys;
mod licence;
pub mod output;
mod plan;
mod problem;
mod rollout;
mod server;
mod subscriber;
mod ticket;
mod warranty;
mod webhook;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use client::Client;

/// The server address when neither `--server` nor `WAVECAST_SERVER` says.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Wavecast: signed firmware updates and after-sales care for set-top box fleets.
#[derive(Debug, Parser)]
#[command(name = "wavecast", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub api: TopApi,
    #[command(subcommand)]
    pub command: Command,
}

/// The connection options given before the command.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Options for the commands that talk to a server")]
pub struct TopApi {
    /// Management API base URL (default: $WAVECAST_SERVER, else http://127.0.0.1:8080).
    #[arg(long = "server", id = "top_server", value_name = "URL")]
    pub server: Option<String>,
    /// API token (default: $WAVECAST_TOKEN); see `wavecast tokens create`.
    #[arg(long = "token", id = "top_token", value_name = "TOKEN")]
    pub token: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long = "json", id = "top_json")]
    pub json: bool,
}

/// The connection options of a command that talks to a server.
#[derive(Debug, Clone, Default, Args)]
pub struct Api {
    /// Management API base URL (default: $WAVECAST_SERVER, else http://127.0.0.1:8080).
    #[arg(long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// API token (default: $WAVECAST_TOKEN); see `wavecast tokens create`.
    #[arg(long, global = true, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

impl Api {
    /// These options, then those given before the command, then the
    /// environment, then the default.
    fn over(self, top: &TopApi) -> Api {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Api {
            server: self
                .server
                .or_else(|| top.server.clone())
                .or_else(|| env("WAVECAST_SERVER")),
            token: self
                .token
                .or_else(|| top.token.clone())
                .or_else(|| env("WAVECAST_TOKEN")),
            json: self.json || top.json,
        }
    }

    /// A client for the server these options name.
    pub fn client(&self) -> anyhow::Result<Client> {
        Client::new(
            self.server.as_deref().unwrap_or(DEFAULT_SERVER),
            self.token.as_deref(),
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (HTTP API, embedded MQTT broker; SQLite and local blobs by default).
    Serve {
        /// Configuration file (TOML); see `wavecast config default`.
        #[arg(long, short, env = "WAVECAST_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Apply database migrations and exit.
    Migrate {
        /// Configuration file (TOML) naming the database.
        #[arg(long, short, env = "WAVECAST_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage the signing keys (offline root, release key, the server's check-in key).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Build, verify, upload and manage update bundles.
    #[command(subcommand)]
    Bundle(bundle::BundleCommand),
    /// Show who the token belongs to.
    Whoami {
        #[command(flatten)]
        api: Api,
    },
    /// Manage users (admins).
    Users {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: identity::UsersCommand,
    },
    /// Manage API tokens.
    Tokens {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: identity::TokensCommand,
    },
    /// Read the audit log (admins).
    Audit {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: identity::AuditCommand,
    },
    /// The fleet's boxes: list, show, telemetry, accept, decommission; import serials.
    Device {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: device::DeviceCommand,
    },
    /// The fleet at a glance: boxes online, versions, fault rates.
    Fleet {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: fleet::FleetCommand,
    },
    /// Roll bundles out to the fleet in waves.
    Rollout {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: rollout::RolloutCommand,
    },
    /// The support queue: tickets, comments, assignment, quotes and returns.
    Ticket {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: ticket::TicketCommand,
    },
    /// Subscribers: who boxes belong to, their plan and dedicated agent.
    Subscriber {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: subscriber::SubscriberCommand,
    },
    /// Subscriber plans and their SLA policies.
    Plan {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: plan::PlanCommand,
    },
    /// Warranty periods by box model.
    Warranty {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: warranty::WarrantyCommand,
    },
    /// Support agents: the queues they work and whether they are on shift.
    Agent {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: agent::AgentCommand,
    },
    /// Products sold under licence and their policies.
    Product {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: licence::ProductCommand,
    },
    /// Licences: issue, show, suspend, revoke, activate on boxes, validate.
    Licence {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: licence::LicenceCommand,
    },
    /// Boxes running a hawkBit DDI client (SWUpdate, rauc-hawkbit-updater):
    /// register, show, issue or revoke their TargetTokens.
    Ddi {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: ddi::DdiCommand,
    },
    /// Webhooks to an outside helpdesk.
    Webhook {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: webhook::WebhookCommand,
    },
    /// The fault catalog: what each fault code means and when it opens a ticket.
    Catalog {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: catalog::CatalogCommand,
    },
    /// Fleet problems: one fault across many boxes.
    Problem {
        #[command(flatten)]
        api: Api,
        #[command(subcommand)]
        cmd: problem::ProblemCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the default configuration file, with comments.
    Default,
    /// Print the effective configuration (defaults, file, environment), passwords masked.
    Show {
        /// Configuration file (TOML).
        #[arg(long, short, env = "WAVECAST_CONFIG")]
        config: Option<PathBuf>,
    },
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let top = cli.api;
    let connect = |api: Api| {
        let api = api.over(&top);
        let client = api.client();
        client.map(|c| (c, api.json))
    };
    match cli.command {
        Command::Serve { config } => server::serve(config.as_deref()).await,
        Command::Migrate { config } => server::migrate(config.as_deref()).await,
        Command::Config(ConfigCommand::Default) => {
            output::text(crate::platform::config::DEFAULT_TOML);
            Ok(())
        }
        Command::Config(ConfigCommand::Show { config }) => server::show_config(config.as_deref()),
        Command::Keys(cmd) => keys::run(&top, cmd).await,
        Command::Bundle(cmd) => bundle::run(&top, cmd).await,
        Command::Whoami { api } => {
            let (c, json) = connect(api)?;
            identity::whoami(&c, json).await
        }
        Command::Users { api, cmd } => {
            let (c, json) = connect(api)?;
            identity::users(&c, cmd, json).await
        }
        Command::Tokens { api, cmd } => {
            let (c, json) = connect(api)?;
            identity::tokens(&c, cmd, json).await
        }
        Command::Audit { api, cmd } => {
            let (c, json) = connect(api)?;
            identity::audit(&c, cmd, json).await
        }
        Command::Device { api, cmd } => {
            let (c, json) = connect(api)?;
            device::run(&c, cmd, json).await
        }
        Command::Fleet { api, cmd } => {
            let (c, json) = connect(api)?;
            fleet::run(&c, cmd, json).await
        }
        Command::Rollout { api, cmd } => {
            let (c, json) = connect(api)?;
            rollout::run(&c, cmd, json).await
        }
        Command::Ticket { api, cmd } => {
            let (c, json) = connect(api)?;
            ticket::run(&c, cmd, json).await
        }
        Command::Subscriber { api, cmd } => {
            let (c, json) = connect(api)?;
            subscriber::run(&c, cmd, json).await
        }
        Command::Plan { api, cmd } => {
            let (c, json) = connect(api)?;
            plan::run(&c, cmd, json).await
        }
        Command::Warranty { api, cmd } => {
            let (c, json) = connect(api)?;
            warranty::run(&c, cmd, json).await
        }
        Command::Agent { api, cmd } => {
            let (c, json) = connect(api)?;
            agent::run(&c, cmd, json).await
        }
        Command::Product { api, cmd } => {
            let (c, json) = connect(api)?;
            licence::run_product(&c, cmd, json).await
        }
        Command::Licence { api, cmd } => {
            let (c, json) = connect(api)?;
            licence::run(&c, cmd, json).await
        }
        Command::Ddi { api, cmd } => {
            let (c, json) = connect(api)?;
            ddi::run(&c, cmd, json).await
        }
        Command::Webhook { api, cmd } => {
            let (c, json) = connect(api)?;
            webhook::run(&c, cmd, json).await
        }
        Command::Catalog { api, cmd } => {
            let (c, json) = connect(api)?;
            catalog::run(&c, cmd, json).await
        }
        Command::Problem { api, cmd } => {
            let (c, json) = connect(api)?;
            problem::run(&c, cmd, json).await
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every option and argument of every command, with its command path.
    fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Arg)>) {
        for a in cmd.get_arguments() {
            out.push((path.to_owned(), a.clone()));
        }
        for sub in cmd.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_option_says_what_it_does() {
        let mut args = Vec::new();
        walk(&Cli::command(), "wavecast", &mut args);
        let bare: Vec<String> = args
            .iter()
            .filter(|(_, a)| a.get_help().is_none())
            .map(|(p, a)| format!("{p} {}", a.get_long().unwrap_or(a.get_id().as_str())))
            .collect();
        assert!(bare.is_empty(), "options without a description: {bare:#?}");
    }

    #[test]
    fn server_options_belong_to_commands_that_talk_to_a_server() {
        let mut cli = Cli::command();
        cli.build();
        for path in [
            ["serve"].as_slice(),
            &["migrate"],
            &["config", "show"],
            &["keys", "init"],
            &["bundle", "build"],
        ] {
            let mut cmd = &cli;
            for name in path {
                cmd = cmd.find_subcommand(name).expect("the command exists");
            }
            let longs: Vec<&str> = cmd
                .get_arguments()
                .filter_map(clap::Arg::get_long)
                .collect();
            for client_only in ["server", "token", "json"] {
                assert!(
                    !longs.contains(&client_only),
                    "{path:?} lists --{client_only}"
                );
            }
        }
        let ticket = cli.find_subcommand("ticket").expect("ticket");
        let list = ticket.find_subcommand("list").expect("ticket list");
        let longs: Vec<&str> = list
            .get_arguments()
            .filter_map(clap::Arg::get_long)
            .collect();
        assert!(
            longs.contains(&"server") && longs.contains(&"json"),
            "{longs:?}"
        );
    }

    #[test]
    fn connection_options_may_come_before_or_after_the_command() {
        let before = Cli::try_parse_from([
            "wavecast",
            "--json",
            "--server",
            "http://a:1",
            "ticket",
            "list",
        ])
        .expect("parses");
        let after = Cli::try_parse_from([
            "wavecast",
            "ticket",
            "list",
            "--json",
            "--server",
            "http://a:1",
        ])
        .expect("parses");
        for cli in [before, after] {
            let Command::Ticket { api, .. } = cli.command else {
                panic!("a ticket command");
            };
            let api = api.over(&cli.api);
            assert!(api.json);
            assert_eq!(api.server.as_deref(), Some("http://a:1"));
        }
        Cli::try_parse_from(["wavecast", "serve", "--server", "http://a:1"])
            .expect_err("serve takes no --server");
    }
}
