//! The DDI bodies, in the shapes hawkBit's API describes and its clients
//! read (ids always as JSON strings: rauc-hawkbit-updater reads them so),
//! and the operator API's views of DDI targets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules::Mode;

/// A link: `{"href": "..."}`.
#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub href: String,
}

/// Links by relation name (`deploymentBase`, `cancelAction`, `configData`,
/// `installedBase`, `download`, …).
pub type Links = BTreeMap<&'static str, Link>;

/// `GET {base}`: when to poll again and what to fetch.
#[derive(Debug, Clone, Serialize)]
pub struct PollAnswer {
    pub config: PollConfig,
    #[serde(rename = "_links", skip_serializing_if = "BTreeMap::is_empty")]
    pub links: Links,
}

#[derive(Debug, Clone, Serialize)]
pub struct PollConfig {
    pub polling: Polling,
}

#[derive(Debug, Clone, Serialize)]
pub struct Polling {
    /// `HH:MM:SS`.
    pub sleep: String,
}

/// `GET {base}/deploymentBase/{id}` and `installedBase/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentAnswer {
    pub id: String,
    pub deployment: Deployment,
}

#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    /// `forced` or `attempt`.
    pub download: &'static str,
    /// `forced` or `attempt` (never `skip`: SWUpdate closes a skipped
    /// action as a success).
    pub update: &'static str,
    /// `available` or `unavailable`, when the rollout has a window.
    #[serde(rename = "maintenanceWindow", skip_serializing_if = "Option::is_none")]
    pub maintenance_window: Option<&'static str>,
    pub chunks: Vec<Chunk>,
}

/// One software module: our bundle.
#[derive(Debug, Clone, Serialize)]
pub struct Chunk {
    /// The module's type: `os` for firmware, `bApp` for the rest.
    pub part: &'static str,
    pub version: String,
    pub name: String,
    pub artifacts: Vec<DdiArtifact>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DdiArtifact {
    pub filename: String,
    pub hashes: Hashes,
    pub size: u64,
    #[serde(rename = "_links")]
    pub links: Links,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hashes {
    pub sha1: String,
    pub md5: String,
    pub sha256: String,
}

/// `GET {base}/cancelAction/{id}`.
#[derive(Debug, Clone, Serialize)]
pub struct CancelAnswer {
    pub id: String,
    #[serde(rename = "cancelAction")]
    pub cancel_action: StopId,
}

#[derive(Debug, Clone, Serialize)]
pub struct StopId {
    #[serde(rename = "stopId")]
    pub stop_id: String,
}

/// `PUT {base}/configData`: attributes (the older shape's `id`, `time` and
/// `status` are ignored).
#[derive(Debug, Clone, Deserialize)]
pub struct ConfigData {
    pub data: BTreeMap<String, String>,
    #[serde(default)]
    pub mode: Mode,
}

/// `POST /api/v1/ddi/targets`: register a DDI box.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    /// The controller id the box's client is configured with.
    pub controller_id: String,
    /// Its model, until its `configData` says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_revision: Option<String>,
}

/// A DDI target as operators see it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TargetView {
    pub device_id: Uuid,
    pub controller_id: String,
    /// The prefix of its `TargetToken` (`None`: no token; it may poll only
    /// through the gateway token).
    pub token_prefix: Option<String>,
    /// The attributes it sent with `configData`.
    pub attributes: BTreeMap<String, String>,
}

/// A target with its new `TargetToken`, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TargetToken {
    #[serde(flatten)]
    pub target: TargetView,
    /// `Authorization: TargetToken <token>`; shown only now.
    pub token: String,
}
