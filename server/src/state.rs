//! Shared application state handed to every handler.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use sea_orm::DatabaseConnection;

use crate::{
    blobs::BlobStore, cache::Refreshing, config::Config, db::Backend, engine::LoadedRollout,
    trust::Anchors,
};

/// What check-ins read on every request and operators change rarely, kept in
/// memory (see [`crate::cache`]).
#[derive(Debug)]
pub struct Caches {
    /// The root key and newest keyring; `None` before keys were published.
    pub anchors: Refreshing<Option<Anchors>>,
    /// The rollouts that are offering updates, loaded with their bundles.
    pub offering: Refreshing<Vec<LoadedRollout>>,
}

impl Caches {
    pub fn new(ttl: std::time::Duration) -> Self {
        Self {
            anchors: Refreshing::new(ttl),
            offering: Refreshing::new(ttl),
        }
    }
}

/// What handlers share: the database pool, the blob store, the configuration,
/// the server's online signing key, if it holds one, and the in-memory caches.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub backend: Backend,
    pub config: Arc<Config>,
    pub blobs: Arc<dyn BlobStore>,
    pub signing_key: Option<Arc<SigningKey>>,
    /// Signs check-in answers in batches with `signing_key` (present with it).
    pub answer_signer: Option<crate::signer::BatchSigner>,
    pub caches: Arc<Caches>,
    pub mqtt: crate::mqtt::Mqtt,
    pub directory: Arc<crate::directory::Directory>,
    /// The server's own metrics (`GET /metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Who was heard from, written in batches.
    pub presence: Arc<crate::presence::Presence>,
    /// Where health and fault batches are stored.
    pub pipeline: crate::pipeline::Pipeline,
}

impl AppState {
    /// The trust anchors, from memory when fresh.
    pub async fn anchors(&self) -> crate::error::ApiResult<Arc<Option<Anchors>>> {
        self.caches
            .anchors
            .get(|| crate::trust::load(&self.db))
            .await
    }

    /// The rollouts offering updates, from memory when fresh.
    pub async fn offering(&self) -> crate::error::ApiResult<Arc<Vec<LoadedRollout>>> {
        self.caches
            .offering
            .get(|| crate::engine::load_offering(&self.db))
            .await
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.backend)
            .field("blobs", &self.blobs)
            .field(
                "signing_key",
                &self
                    .signing_key
                    .as_ref()
                    .map(|k| wavecast_protocol::keys::key_id(&k.verifying_key())),
            )
            .finish_non_exhaustive()
    }
}
