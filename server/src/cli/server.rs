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
    let ttl = config.auth.bootstrap_token_ttl_hours;
    let database = config.database.url.redacted();
    let app = Application::build(config).await?;
    if let Some(token) = &app.bootstrap_token {
        let server = format!("http://{}:{}", bind.ip(), app.port());
        crate::outln!("{}", bootstrap::banner(token, ttl, &server));
    }
    tracing::info!(
        address = %format!("{}:{}", bind.ip(), app.port()),
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
