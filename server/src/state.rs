//! The application state handed to every handler: the database, the blob
//! store, the configuration, the clock, the online check-in key, the
//! in-memory caches and directory, and the handles of the background
//! machinery (event pipeline, presence, MQTT, jobs, metrics). Built once by
//! `startup`.

use std::{collections::HashSet, net::IpAddr, sync::Arc};

use ed25519_dalek::SigningKey;
use sea_orm::DatabaseConnection;

use crate::{
    fleet::{directory::Directory, presence::Presence, views::FleetSummary},
    intake::pipeline::Pipeline,
    mqtt::Mqtt,
    platform::{
        blobs::BlobStore,
        cache::Refreshing,
        clock::Clock,
        config::{Backend, Config},
        error::Result,
        jobs::Jobs,
        metrics::Metrics,
        throttle::Throttle,
    },
    updates::{
        bundles::store::offered_artifacts,
        checkin::key::OnlineKey,
        rollouts::store::{load_offering, LoadedRollout},
        trust::store::{self as trust, Anchors},
    },
};

/// What check-ins read on every request and operators change rarely, kept in
/// memory (see `platform::cache`).
#[derive(Debug)]
pub struct Caches {
    /// The root key and newest keyring; `None` before keys were published.
    pub anchors: Refreshing<Option<Anchors>>,
    /// The rollouts that are offering updates, loaded with their bundles.
    pub offering: Refreshing<Vec<LoadedRollout>>,
    /// The artifacts boxes may download (of published and deprecated
    /// bundles), by SHA-256.
    pub downloadable: Refreshing<HashSet<String>>,
    /// The fleet summary of the last 7 days, for the console's overview
    /// (it reads every box: computed at most every 30 s, served from
    /// memory meanwhile).
    pub summary: Refreshing<Summarised>,
    /// The boxes holding a licence activation: only their check-ins look
    /// for licence tokens.
    pub licensed: Refreshing<HashSet<uuid::Uuid>>,
}

impl Caches {
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            anchors: Refreshing::new(ttl),
            offering: Refreshing::new(ttl),
            downloadable: Refreshing::new(ttl),
            summary: Refreshing::new(std::time::Duration::from_secs(30)),
            licensed: Refreshing::new(ttl),
        }
    }
}

/// The fleet summary and when it was worked out.
#[derive(Debug)]
pub struct Summarised {
    pub summary: FleetSummary,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// For reads that may take a while (see `platform::db::connect_reads`):
    /// pages read through it, never a handler that writes.
    pub reads: DatabaseConnection,
    pub backend: Backend,
    pub config: Arc<Config>,
    /// The server's one clock (tests move it forward).
    pub clock: Clock,
    pub blobs: Arc<dyn BlobStore>,
    /// The online check-in key (signs check-in answers, never bundles).
    pub online_key: Arc<OnlineKey>,
    /// A bundle signing key the operator chose to keep on the server
    /// (`signing.bundle_key_file`), for `?sign=server` uploads.
    pub bundle_key: Option<Arc<SigningKey>>,
    pub caches: Arc<Caches>,
    pub mqtt: Mqtt,
    pub directory: Arc<Directory>,
    /// The server's own metrics (`GET /metrics`).
    pub metrics: Arc<Metrics>,
    /// Who was heard from, written in batches.
    pub presence: Arc<Presence>,
    /// Where health and fault batches are stored.
    pub pipeline: Pipeline,
    /// The background jobs, to kick one.
    pub jobs: Jobs,
    /// Enrolments by client address (`devices.enrol_rate_per_sec`).
    pub enrolments: Arc<Throttle<IpAddr>>,
    /// The hawkBit DDI gateway token (`ddi.gateway_token_file`), if any.
    pub ddi_gateway: Arc<crate::ddi::gateway::Gateway>,
}

impl AppState {
    /// The writing connection and the read connections together.
    pub fn connections(&self) -> crate::platform::db::Connections<'_> {
        crate::platform::db::Connections {
            db: &self.db,
            reads: &self.reads,
        }
    }

    /// The trust anchors, from memory when fresh.
    pub async fn anchors(&self) -> Result<Arc<Option<Anchors>>> {
        self.caches.anchors.get(|| trust::load(&self.db)).await
    }

    /// The rollouts offering updates, from memory when fresh.
    pub async fn offering(&self) -> Result<Arc<Vec<LoadedRollout>>> {
        self.caches.offering.get(|| load_offering(&self.db)).await
    }

    /// The artifacts boxes may download, from memory when fresh.
    pub async fn downloadable(&self) -> Result<Arc<HashSet<String>>> {
        self.caches
            .downloadable
            .get(|| offered_artifacts(&self.db))
            .await
    }

    /// The boxes holding a licence activation, from memory when fresh.
    pub async fn licensed_boxes(&self) -> Result<Arc<HashSet<uuid::Uuid>>> {
        self.caches
            .licensed
            .get(|| crate::licences::bindings::activated_boxes(&self.db))
            .await
    }

    /// The fleet summary of the last 7 days, about 30 s old: once it
    /// expired, the page gets the previous one while it is worked out
    /// again in the background (it reads the whole fleet).
    pub async fn fleet_summary(&self) -> Result<Arc<Summarised>> {
        if let Some(previous) = self.caches.summary.expired() {
            let me = self.clone();
            tokio::spawn(async move {
                if let Err(e) = me.load_summary().await {
                    tracing::warn!(error = %e, "cannot work out the fleet summary");
                }
            });
            return Ok(previous);
        }
        self.load_summary().await
    }

    async fn load_summary(&self) -> Result<Arc<Summarised>> {
        let now = self.clock.now();
        self.caches
            .summary
            .get(|| async move {
                let summary = crate::fleet::summary::store::summary(
                    &self.reads,
                    7,
                    now,
                    &self.config.telemetry,
                )
                .await?;
                Ok(Summarised { summary, at: now })
            })
            .await
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.backend)
            .field("blobs", &self.blobs)
            .field(
                "online_key",
                &self.online_key.get().map(|k| k.keyid.clone()),
            )
            .finish_non_exhaustive()
    }
}
