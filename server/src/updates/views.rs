//! Request and response bodies of the updates API — keyrings, bundles and
//! rollouts — shared by the HTTP handlers and the `wavecast` CLI so the two
//! cannot drift apart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    bundles::rules::BundleState,
    rollouts::{
        gate::{GateFigures, HealthGate},
        progress::{Waiting, WaveCounts},
        rules::{RolloutState, Target, WavePlan},
        window::TimeWindow,
    },
};

/// `PUT /api/v1/keyring`: a root-signed keyring and the root public key.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishKeyring {
    /// Base64 of the root public key. Pinned by the first publish.
    pub root_public_key: String,
    pub keyring: wavecast_protocol::envelope::Envelope,
}

/// `GET /api/v1/keyring`: the keyring the server trusts now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeyringView {
    pub root_keyid: String,
    pub root_public_key: String,
    pub version: u64,
    /// Unix seconds.
    pub expires_at: i64,
    pub keys: Vec<wavecast_protocol::keyring::KeyEntry>,
    pub revoked: Vec<String>,
    pub envelope: wavecast_protocol::envelope::Envelope,
}

/// One artifact of a bundle, with where to download it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ArtifactView {
    pub name: String,
    pub size: u64,
    pub sha256: wavecast_protocol::Sha256Digest,
    pub target: String,
    pub compression: wavecast_protocol::manifest::Compression,
    /// Path of the download, relative to the server.
    pub download: String,
}

/// A bundle as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BundleView {
    pub id: Uuid,
    pub name: String,
    pub kind: wavecast_protocol::manifest::Kind,
    pub version: String,
    pub security_version: u64,
    pub state: BundleState,
    pub licensed_product: Option<String>,
    pub payload_size: u64,
    pub signer_keyid: String,
    pub keyring_version: u64,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub compatible: Vec<wavecast_protocol::manifest::Compatibility>,
    pub requires: Vec<wavecast_protocol::manifest::Requirement>,
    pub artifacts: Vec<ArtifactView>,
}

/// `POST /api/v1/bundles/{id}/{publish|deprecate|revoke}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BundleActionRequest {
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/v1/rollouts`
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRollout {
    pub name: String,
    /// Bundles by id or `name@version`, in the order they should install.
    pub bundles: Vec<String>,
    #[serde(default)]
    pub target: Target,
    pub waves: Vec<WavePlan>,
    /// When the first wave opens (default: now).
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// Seconds a device may stay silent mid-install before it counts as failed.
    #[serde(default)]
    pub device_timeout_secs: Option<u64>,
    /// Allow offering a lower version than installed (a rollback).
    #[serde(default)]
    pub allow_downgrade: bool,
    /// Install only inside this daily window of the box's local time.
    #[serde(default)]
    pub window: Option<TimeWindow>,
    /// At most this many devices downloading at once.
    #[serde(default)]
    pub max_concurrent_downloads: Option<u32>,
    /// Pause when updated boxes fault more than boxes not yet updated.
    #[serde(default)]
    pub health_gate: Option<HealthGate>,
    /// Seconds after a wave opened when its boxes that have not checked in
    /// since stop counting ("not reached"), so the rollout can go on (and,
    /// for the last wave, complete) without them. Absent: wait for them.
    #[serde(default)]
    pub unreached_after_secs: Option<u64>,
    /// Whether the rollout, once completed, is still offered to target
    /// boxes that show up later (default true).
    #[serde(default)]
    pub keep_offering: Option<bool>,
}

/// `POST /api/v1/rollouts/preview`: how many boxes a draft target matches.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetPreview {
    #[serde(default)]
    pub target: Target,
}

/// The answer to `POST /api/v1/rollouts/preview`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TargetCount {
    /// Accepted boxes the target matches now.
    pub matching: u64,
}

/// Counts of devices by install outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RolloutCounts {
    pub reported: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub in_progress: u64,
}

/// Where a rollout's boxes stand and what it waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RolloutProgress {
    /// Accepted boxes its target matches now.
    pub target_size: u64,
    /// Every wave's boxes by stage, the opened waves and those to come.
    pub waves: Vec<WaveCounts>,
    /// Boxes of open waves not heard from since their wave opened.
    pub not_heard_from: u64,
    /// Boxes the rollout stopped waiting for.
    pub not_reached: u64,
    /// Boxes its licensed bundles are not for (no licence): never offered
    /// them, not waited for.
    #[serde(default)]
    pub not_entitled: u64,
    /// When the current wave's soak ends (running rollouts).
    pub soak_ends_at: Option<DateTime<Utc>>,
    /// When boxes not heard from stop counting, if the rollout says so.
    pub unreached_at: Option<DateTime<Utc>>,
    /// What the rollout waits for now, if anything.
    pub waiting: Option<Waiting>,
    /// The same in a sentence.
    pub waiting_reason: Option<String>,
    /// The health gate's figures now, for a rollout with a gate.
    pub gate: Option<GateFigures>,
}

fn yes() -> bool {
    true
}

/// A rollout as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RolloutView {
    pub id: Uuid,
    pub name: String,
    pub state: RolloutState,
    pub reason: Option<String>,
    pub bundles: Vec<String>,
    pub target: Target,
    pub waves: Vec<WavePlan>,
    pub open_waves: u32,
    pub wave_opened_at: Option<DateTime<Utc>>,
    pub starts_at: DateTime<Utc>,
    pub device_timeout_secs: u64,
    pub allow_downgrade: bool,
    pub window: Option<TimeWindow>,
    pub max_concurrent_downloads: Option<u32>,
    pub health_gate: Option<HealthGate>,
    pub rollback_of: Option<Uuid>,
    pub counts: RolloutCounts,
    /// Where its boxes stand and what it waits for: in the answer about
    /// one rollout, not in lists (it reads every target box).
    #[serde(default)]
    pub progress: Option<RolloutProgress>,
    #[serde(default)]
    pub unreached_after_secs: Option<u64>,
    #[serde(default = "yes")]
    pub keep_offering: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
