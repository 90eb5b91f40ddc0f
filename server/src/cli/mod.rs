//! The `wavecast` command line: `serve`, `migrate`, `config`, and the operator
//! commands that talk to the management API.

pub mod bundle;
mod client;
mod device;
mod identity;
pub mod keys;
mod output;
mod rollout;
mod server;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use client::Client;

/// Wavecast: signed firmware updates and after-sales care for set-top box fleets.
#[derive(Debug, Parser)]
#[command(name = "wavecast", version, about, propagate_version = true)]
pub struct Cli {
    /// Management API base URL.
    #[arg(
        long,
        global = true,
        env = "WAVECAST_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,
    /// API token (see `wavecast tokens create`).
    #[arg(long, global = true, env = "WAVECAST_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (HTTP API; SQLite and local blobs by default).
    Serve {
        /// Configuration file (TOML); see `wavecast config default`.
        #[arg(long, short, env = "WAVECAST_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[arg(long, short, env = "WAVECAST_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Show who the token belongs to.
    Whoami,
    /// Manage users (admins).
    #[command(subcommand)]
    Users(identity::UsersCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Tokens(identity::TokensCommand),
    /// Read the audit log (admins).
    #[command(subcommand)]
    Audit(identity::AuditCommand),
    /// Manage the signing key hierarchy (offline root, online signing keys).
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Build, verify, upload and manage update bundles.
    #[command(subcommand)]
    Bundle(bundle::BundleCommand),
    /// The fleet: list, accept, decommission devices; import serials.
    #[command(subcommand)]
    Device(device::DeviceCommand),
    /// Roll bundles out to the fleet in waves.
    #[command(subcommand)]
    Rollout(rollout::RolloutCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the default configuration file, with comments.
    Default,
    /// Print the effective configuration (defaults, file, environment).
    Show {
        #[arg(long, short, env = "WAVECAST_CONFIG")]
        config: Option<PathBuf>,
    },
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config } => server::serve(config.as_deref()).await,
        Command::Migrate { config } => server::migrate(config.as_deref()).await,
        Command::Config(ConfigCommand::Default) => {
            print!("{}", crate::platform::config::DEFAULT_TOML);
            Ok(())
        }
        Command::Config(ConfigCommand::Show { config }) => server::show_config(config.as_deref()),
        Command::Whoami => {
            let client = Client::new(&cli.server, cli.token.as_deref())?;
            identity::whoami(&client, cli.json).await
        }
        Command::Users(cmd) => {
            let client = Client::new(&cli.server, cli.token.as_deref())?;
            identity::users(&client, cmd, cli.json).await
        }
        Command::Tokens(cmd) => {
            let client = Client::new(&cli.server, cli.token.as_deref())?;
            identity::tokens(&client, cmd, cli.json).await
        }
        Command::Audit(cmd) => {
            let client = Client::new(&cli.server, cli.token.as_deref())?;
            identity::audit(&client, cmd, cli.json).await
        }
        Command::Keys(cmd) => {
            let client = Client::new(&cli.server, cli.token.as_deref()).ok();
            keys::run(client.as_ref(), cmd).await
        }
        Command::Rollout(cmd) => {
            let client = Client::new(&cli.server, cli.token.as_deref())?;
            rollout::run(&client, cmd, cli.json).await
        }
        Command::Device(cmd) => {
            let client = Client::new(&cli.server, cli.token.as_deref())?;
            device::run(&client, cmd, cli.json).await
        }
        Command::Bundle(cmd) => {
            let client = Client::new(&cli.server, cli.token.as_deref()).ok();
            bundle::run(client.as_ref(), cmd, cli.json).await
        }
    }
}
