//! Building and running the server: connect, migrate, bootstrap, bind.
//! Tests start the same [`Application`] on port 0.

use std::{net::TcpListener, sync::Arc};

use actix_web::{
    body::MessageBody,
    dev::{Server, ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    web, App, HttpMessage, HttpServer,
};
use anyhow::Context as _;
use tracing_actix_web::{RequestId, TracingLogger};

use crate::{blobs::LocalBlobStore, bootstrap, config::Config, db, error, routes, state::AppState};

/// A built, bound server ready to run.
pub struct Application {
    port: u16,
    /// The embedded MQTT broker's port, when it runs.
    pub mqtt_port: Option<u16>,
    server: Server,
    /// The one-time admin token when this start created the first admin.
    pub bootstrap_token: Option<String>,
    pub state: AppState,
}

impl Application {
    /// Connects to the database, runs migrations, creates the first admin if
    /// needed and binds the listener. Every failure names its cause.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let backend =
            db::Backend::from_url(config.database.url.expose()).map_err(anyhow::Error::msg)?;
        let db = db::connect(&config.database).await?;
        db::migrate(&db).await?;
        crate::catalog::load_file(&db, config.faults.catalog_file.as_deref()).await?;
        crate::tickets::seed_defaults(&db, &config.tickets).await?;
        let bootstrap_token =
            bootstrap::ensure_admin(&db, config.auth.bootstrap_token_ttl_hours).await?;
        let blobs = LocalBlobStore::open(&config.blobs.dir).with_context(|| {
            format!("cannot open blob directory {}", config.blobs.dir.display())
        })?;
        let signing_key = match &config.signing.key_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read signing.key_file {}", path.display()))?;
                let (key, _) = wavecast_protocol::keys::PrivateKeyFile::parse(&text)
                    .map_err(anyhow::Error::msg)
                    .with_context(|| format!("signing.key_file {}", path.display()))?;
                Some(Arc::new(key))
            }
            None => None,
        };
        let answer_signer = match &signing_key {
            Some(key) => Some(
                crate::signer::BatchSigner::start(key.clone())
                    .context("cannot start the check-in signing thread")?,
            ),
            None => None,
        };
        let config_cache_millis = config.rollouts.cache_millis;
        let metrics: Arc<crate::metrics::Metrics> = Arc::default();
        let directory: Arc<crate::directory::Directory> = Arc::default();
        let presence: Arc<crate::presence::Presence> = Arc::default();
        let pipeline =
            crate::pipeline::Pipeline::start(db.clone(), metrics.clone(), &config.telemetry);
        let mqtt = crate::mqtt::start(
            &config.mqtt,
            config.http.bind.port(),
            std::time::Duration::from_millis(config_cache_millis),
            db.clone(),
            crate::mqtt::Ingest {
                directory: directory.clone(),
                presence: presence.clone(),
                pipeline: pipeline.clone(),
                metrics: metrics.clone(),
            },
        )
        .await?;
        let listener = TcpListener::bind(config.http.bind)
            .with_context(|| format!("cannot listen on {}", config.http.bind))?;
        let port = listener.local_addr()?.port();
        let state = AppState {
            db,
            backend,
            config: Arc::new(config),
            blobs: Arc::new(blobs),
            signing_key,
            answer_signer,
            caches: Arc::new(crate::state::Caches::new(std::time::Duration::from_millis(
                config_cache_millis,
            ))),
            mqtt: mqtt.mqtt,
            directory,
            metrics,
            presence,
            pipeline,
        };
        crate::rollups::spawn(state.db.clone(), state.config.telemetry.clone());
        crate::tickets::spawn(state.db.clone(), state.config.tickets.clone());
        crate::webhooks::spawn(state.db.clone(), state.config.tickets.clone())?;
        state.presence.clone().spawn(
            state.db.clone(),
            std::time::Duration::from_secs(state.config.telemetry.presence_flush_secs),
        );
        crate::directory::spawn(
            state.db.clone(),
            state.directory.clone(),
            std::time::Duration::from_millis(state.config.devices.directory_sync_millis),
        );
        let server = serve(listener, state.clone())?;
        crate::engine::scheduler::spawn(
            state.db.clone(),
            state.caches.clone(),
            state.mqtt.clone(),
            std::time::Duration::from_millis(state.config.rollouts.tick_millis.max(50)),
        );
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

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Copies the request id that `TracingLogger` assigned into the response.
async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    let mut res = next.call(req).await?;
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(res)
}

fn serve(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let json_limit = state.config.http.json_limit;
    let workers = state.config.http.workers;
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(crate::metrics::track))
            .wrap(actix_web::middleware::from_fn(request_id_header))
            .wrap(TracingLogger::default())
            .app_data(data.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(json_limit)
                    .error_handler(|e, _| error::json_error(e)),
            )
            .app_data(web::QueryConfig::default().error_handler(|e, _| error::query_error(e)))
            .app_data(web::PathConfig::default().error_handler(|e, _| error::path_error(e)))
            .configure(routes::configure)
            .default_service(web::to(error::not_found))
    })
    // Answers go out at once: with Nagle's algorithm a response written in
    // two segments waited for the client's delayed ACK (about 40 ms).
    .tcp_nodelay(true)
    .listen(listener)?;
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.run())
}
