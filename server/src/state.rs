//! Shared application state handed to every handler.

use sea_orm::DatabaseConnection;

use crate::{config::Config, db::Backend};

/// What handlers share: the database pool and the configuration.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub backend: Backend,
    pub config: std::sync::Arc<Config>,
}
