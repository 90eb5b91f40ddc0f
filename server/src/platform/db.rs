//! Database connection: SQLite (embedded default, WAL) or PostgreSQL, chosen
//! by the URL scheme; migrations run through [`wavecast_migrations`].

use std::{str::FromStr, time::Duration};

use anyhow::Context as _;
use sea_orm::{
    sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous},
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
};
use wavecast_migrations::{Migrator, MigratorTrait};

use super::config::{Backend, DatabaseConfig};

/// Connects to the configured database, creating a SQLite file (and its
/// directory) when missing.
pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<DatabaseConnection> {
    let url = config.url.expose();
    let backend = Backend::from_url(url).map_err(anyhow::Error::msg)?;
    if backend == Backend::Sqlite {
        ensure_sqlite_dir(url)?;
    }
    // SQLite allows one writer at a time, and a transaction that reads before
    // it writes fails outright (SQLITE_BUSY_SNAPSHOT, which no busy timeout
    // cures) when another connection wrote in between. The embedded backend
    // serves one instance, so it gets one connection: every statement and
    // transaction runs in turn and such conflicts cannot arise. PostgreSQL
    // gets the configured pool.
    let max_connections = match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => config.max_connections,
    };
    let mut options = pool(config, max_connections);
    options.map_sqlx_sqlite_opts(|o: SqliteConnectOptions| {
        o.create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
    });
    let db = Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to database {}", config.url.redacted()))?;
    Ok(db)
}

/// Connections for reads that may take a while (console pages, the
/// scheduler's pass over a rollout's boxes), so that they never hold the
/// one SQLite connection that writes: in WAL mode readers and the writer
/// run side by side, and each statement sees what was committed before it
/// began. Read-only, so none of the writer's conflicts can arise. On
/// PostgreSQL (and an in-memory SQLite database, which a second connection
/// would not see) the same pool as `db`.
pub async fn connect_reads(
    config: &DatabaseConfig,
    db: &DatabaseConnection,
) -> anyhow::Result<DatabaseConnection> {
    let url = config.url.expose();
    let backend = Backend::from_url(url).map_err(anyhow::Error::msg)?;
    if backend != Backend::Sqlite || url.contains(":memory:") || url.contains("mode=memory") {
        return Ok(db.clone());
    }
    let mut options = pool(config, READERS);
    options.map_sqlx_sqlite_opts(|o: SqliteConnectOptions| {
        o.read_only(true)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
    });
    Database::connect(options)
        .await
        .with_context(|| format!("cannot open read connections to {}", config.url.redacted()))
}

/// The connection that writes and those for long reads, for code that
/// does both.
#[derive(Debug, Clone, Copy)]
pub struct Connections<'a> {
    pub db: &'a DatabaseConnection,
    pub reads: &'a DatabaseConnection,
}

/// A pool of up to `max` connections to the configured database, with its
/// timeouts.
fn pool(config: &DatabaseConfig, max: u32) -> ConnectOptions {
    let mut options = ConnectOptions::new(config.url.expose().to_owned());
    options
        .max_connections(max)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(config.connect_timeout_secs))
        .acquire_timeout(Duration::from_secs(config.connect_timeout_secs.max(1) * 2))
        .sqlx_logging(false);
    options
}

/// SQLite read connections: one per core of a small server.
const READERS: u32 = 2;

fn ensure_sqlite_dir(url: &str) -> anyhow::Result<()> {
    let opts = SqliteConnectOptions::from_str(url)
        .with_context(|| "invalid sqlite database URL".to_owned())?;
    let path = opts.get_filename();
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create database directory {}", parent.display()))?;
    }
    Ok(())
}

/// Claims an SQLite database file for this `wavecast serve`: SQLite serves
/// one instance (one writer, an in-process directory and scheduler that no
/// other instance would hear of), so a second `serve` on the same file is
/// refused with a clear message instead of two instances quietly fighting
/// over it. The claim is an exclusive lock on `<file>-serve.lock`, held as
/// long as the returned file is open and released by the system when the
/// process ends, however it ends. `None` for PostgreSQL and in-memory
/// databases.
pub fn claim_sqlite(url: &str) -> anyhow::Result<Option<std::fs::File>> {
    if Backend::from_url(url).map_err(anyhow::Error::msg)? != Backend::Sqlite
        || url.contains(":memory:")
        || url.contains("mode=memory")
    {
        return Ok(None);
    }
    ensure_sqlite_dir(url)?;
    let opts = SqliteConnectOptions::from_str(url)
        .with_context(|| "invalid sqlite database URL".to_owned())?;
    let mut name = opts.get_filename().as_os_str().to_owned();
    name.push("-serve.lock");
    let path = std::path::PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(file)),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => anyhow::bail!(
            "another `wavecast serve` already runs on the SQLite database {} (it holds {}): \
             SQLite serves one instance; stop the other one, or move to PostgreSQL to run \
             several (docs/deploy.md)",
            opts.get_filename().display(),
            path.display()
        ),
        Err(e) => {
            Err(std::io::Error::from(e)).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// Applies all pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("database migration failed")
}

/// Whether the database answers a trivial query.
pub async fn ping(db: &DatabaseConnection) -> bool {
    db.execute_unprepared("SELECT 1").await.is_ok()
}
