//! `wavecast serve`, `wavecast migrate` and `wavecast config show`.

use std::path::Path;

use anyhow::Context as _;

use crate::{
    identity::bootstrap,
    platform::{config::Config, db, logging},
    startup::Application,
};

pub async fn serve(file: Option<&Path>) -> anyhow::Result<()> {
    let config = Config::load(file)?;
    logging::init(&config.log);
    let bind = config.http.bind;
    let scheme = if config.http.tls.is_some() {
        "https"
    } else {
        "http"
    };
    if config.http.tls.is_none() && !bind.ip().is_loopback() {
        tracing::warn!(
            address = %bind,
            "serving plain HTTP beyond this machine: credentials, tokens and telemetry cross \
             the network readable; set [http.tls] (certificate and key files) or put a TLS \
             proxy in front"
        );
    }
    let ttl = config.auth.bootstrap_token_ttl_hours;
    let database = config.database.url.redacted();
    let _claim = db::claim_sqlite(config.database.url.expose())?;
    let app = Application::build(config).await?;
    let server = format!("{scheme}://{}:{}", bind.ip(), app.port());
    if let Some(token) = &app.bootstrap_token {
        crate::outln!("{}", bootstrap::banner(token, ttl, &server));
    }
    tracing::info!(
        address = %format!("{}:{}", bind.ip(), app.port()),
        scheme,
        database = %database,
        "wavecast server listening"
    );
    app.run_until_stopped().await.context("server failed")
}

pub async fn migrate(file: Option<&Path>) -> anyhow::Result<()> {
    let config = Config::load(file)?;
    logging::init(&config.log);
    let db = db::connect(&config.database).await?;
    db::migrate(&db).await?;
    crate::outln!("migrations applied to {}", config.database.url.redacted());
    Ok(())
}

pub fn show_config(file: Option<&Path>) -> anyhow::Result<()> {
    let config = Config::load(file)?.shown();
    super::output::text(&toml::to_string_pretty(&config)?);
    Ok(())
}
