//! Shared application state handed to every handler.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use sea_orm::DatabaseConnection;

use crate::{blobs::BlobStore, config::Config, db::Backend};

/// What handlers share: the database pool, the blob store, the configuration
/// and the server's online signing key, if it holds one.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub backend: Backend,
    pub config: Arc<Config>,
    pub blobs: Arc<dyn BlobStore>,
    pub signing_key: Option<Arc<SigningKey>>,
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
