//! Building and running the server, the composition root: connect and
//! migrate, load the fault catalog and default plans, bootstrap the first
//! admin, open the blob store and the signing keys, start the event
//! pipeline, MQTT, the background jobs and the HTTP server. Tests start
//! the same [`Application`] on port 0.

use std::{net::TcpListener, sync::Arc, time::Duration};

use anyhow::Context as _;

use crate::{
    fleet::{catalog, directory, presence::Presence, telemetry::rollups},
    http::server::serve,
    identity::bootstrap,
    intake::pipeline::Pipeline,
    mqtt,
    platform::{
        blobs::LocalBlobStore,
        clock::Clock,
        config::{Backend, Config},
        db,
        jobs::Jobs,
        metrics::Metrics,
        throttle::Throttle,
    },
    state::{AppState, Caches},
    support::{plans, tickets::sweep, webhooks::sender},
    updates::{
        checkin::key::{read_key, OnlineKey},
        rollouts::scheduler,
        trust::{
            rules::{bundle_roles, check_online_key},
            store as trust,
        },
    },
};

/// Stops the start when the published keyring lets the online check-in key
/// sign bundles (see `updates::trust::rules`), or warns when the operator
/// allowed it.
async fn refuse_signing_online_key(
    db: &sea_orm::DatabaseConnection,
    online_key: &OnlineKey,
    config: &Config,
) -> anyhow::Result<()> {
    let (Some(online), Some(anchors)) = (online_key.get(), trust::load(db).await?) else {
        return Ok(());
    };
    let Some((keyring, _)) = &anchors.current else {
        return Ok(());
    };
    let allowed = config.signing.allow_online_bundle_roles;
    check_online_key(keyring, &online.keyid, allowed).map_err(anyhow::Error::msg)?;
    let roles = bundle_roles(keyring, &online.keyid);
    if !roles.is_empty() {
        tracing::warn!(
            key = %online.keyid,
            roles = %roles.join(", "),
            "the online check-in key may sign bundles (signing.allow_online_bundle_roles): \
             whoever controls this server can sign what every box installs"
        );
    }
    Ok(())
}

/// A built, bound server ready to run.
pub struct Application {
    port: u16,
    /// The embedded MQTT broker's port, when it runs.
    pub mqtt_port: Option<u16>,
    server: actix_web::dev::Server,
    /// The one-time admin token when this start created the first admin.
    pub bootstrap_token: Option<String>,
    pub state: AppState,
}

impl Application {
    /// Connects to the database, runs migrations, creates the first admin if
    /// needed and binds the listener, on the system clock.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, Clock::system()).await
    }

    /// Like [`Application::build`] on a given clock (tests move theirs
    /// forward). Every failure names its cause.
    pub async fn build_with_clock(config: Config, clock: Clock) -> anyhow::Result<Self> {
        // Two rustls crypto providers are linked (ring, and aws-lc-rs through
        // the database driver); libraries that ask rustls for the process's
        // provider (the MQTT broker's TLS) get ring, as the server's HTTPS.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let backend =
            Backend::from_url(config.database.url.expose()).map_err(anyhow::Error::msg)?;
        let db = db::connect(&config.database).await?;
        db::migrate(&db).await?;
        let reads = db::connect_reads(&config.database, &db).await?;
        catalog::store::load_file(&db, config.faults.catalog_file.as_deref(), clock.now()).await?;
        plans::store::seed_defaults(&db, &config.tickets, clock.now()).await?;
        let bootstrap_token =
            bootstrap::ensure_admin(&db, config.auth.bootstrap_token_ttl_hours, clock.now())
                .await?;
        let blobs = LocalBlobStore::open(&config.blobs.dir).with_context(|| {
            format!("cannot open blob directory {}", config.blobs.dir.display())
        })?;
        let online_key = Arc::new(OnlineKey::open(config.signing.key_file.clone())?);
        refuse_signing_online_key(&db, &online_key, &config).await?;
        let bundle_key = match &config.signing.bundle_key_file {
            Some(path) => {
                let key = read_key(path)
                    .with_context(|| format!("signing.bundle_key_file {}", path.display()))?;
                tracing::warn!(
                    key = %wavecast_protocol::keys::key_id(&key.verifying_key()),
                    "this server holds a bundle signing key (signing.bundle_key_file): whoever \
                     controls the server can sign bundles the fleet installs"
                );
                Some(Arc::new(key))
            }
            None => None,
        };
        let cache_ttl = Duration::from_millis(config.rollouts.cache_millis);
        let metrics: Arc<Metrics> = Arc::default();
        let directory: Arc<directory::Directory> = Arc::default();
        let presence: Arc<Presence> = Arc::default();
        let pipeline = Pipeline::start(
            db.clone(),
            metrics.clone(),
            clock.clone(),
            &config.telemetry,
        );
        let mqtt = mqtt::start(
            &config.mqtt,
            config.http.bind.port(),
            cache_ttl,
            db.clone(),
            mqtt::Ingest {
                directory: directory.clone(),
                presence: presence.clone(),
                pipeline: pipeline.clone(),
                metrics: metrics.clone(),
                clock: clock.clone(),
            },
        )
        .await?;
        let listener = TcpListener::bind(config.http.bind)
            .with_context(|| format!("cannot listen on {}", config.http.bind))?;
        let port = listener.local_addr()?.port();
        let enrolments = Arc::new(Throttle::new(
            config.devices.enrol_rate_per_sec,
            config.devices.enrol_burst,
            clock.clone(),
        ));
        let ddi_gateway = Arc::new(crate::ddi::gateway::Gateway::load(
            config.ddi.gateway_token_file.as_deref(),
        )?);
        let state = AppState {
            db,
            reads,
            backend,
            config: Arc::new(config),
            clock,
            blobs: Arc::new(blobs),
            online_key,
            bundle_key,
            caches: Arc::new(Caches::new(cache_ttl)),
            mqtt: mqtt.mqtt,
            directory,
            metrics,
            presence,
            pipeline,
            jobs: Jobs::default(),
            enrolments,
            ddi_gateway,
        };
        spawn_background(&state)?;
        let server = serve(listener, state.clone())?;
        Ok(Self {
            port,
            mqtt_port: mqtt.embedded.map(|a| a.port()),
            server,
            bootstrap_token,
            state,
        })
    }

    /// The port the server listens on (useful when configured with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs until the server stops (Ctrl-C or SIGTERM stop it gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Starts what runs beside the HTTP server: the jobs on leases (scheduler,
/// rollups, SLA sweep, webhooks), presence flushes and the directory.
fn spawn_background(state: &AppState) -> anyhow::Result<()> {
    let (db, clock, cfg, jobs) = (&state.db, &state.clock, &state.config, &state.jobs);
    rollups::spawn(jobs, db.clone(), clock.clone(), cfg.telemetry.clone());
    sweep::spawn(jobs, db.clone(), clock.clone(), cfg.tickets.clone());
    sender::spawn(jobs, db.clone(), clock.clone(), cfg.tickets.clone())?;
    state.presence.clone().spawn(
        jobs,
        db.clone(),
        Duration::from_secs(cfg.telemetry.presence_flush_secs),
        clock.clone(),
    );
    directory::spawn(
        db.clone(),
        state.directory.clone(),
        Duration::from_millis(cfg.devices.directory_sync_millis),
        clock.clone(),
    );
    scheduler::spawn(
        jobs,
        db.clone(),
        state.reads.clone(),
        clock.clone(),
        state.caches.clone(),
        state.mqtt.clone(),
        Duration::from_millis(cfg.rollouts.tick_millis.max(50)),
    );
    Ok(())
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
