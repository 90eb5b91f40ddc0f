//! The protocol version and the server's self-description (`GET /api/v1/version`).

use serde::{Deserialize, Serialize};

/// The version of the device and management protocol this build speaks.
///
/// Bumped only when a new capability is added; old values stay understood.
pub const PROTOCOL_VERSION: u32 = 1;

/// What `GET /api/v1/version` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerVersion {
    /// The product name, always `wavecast`.
    pub name: String,
    /// The server build's semantic version.
    pub version: String,
    /// The highest protocol version the server speaks.
    pub protocol: u32,
    /// The database backend in use (`sqlite` or `postgres`).
    #[serde(default)]
    pub database: Option<String>,
}
