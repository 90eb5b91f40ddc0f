//! Request and response bodies of the management API, shared by the HTTP
//! handlers and the `wavecast` CLI so the two cannot drift apart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::role::Role;

/// A user as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub id: Uuid,
    pub name: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// `GET /api/v1/me`: the caller and the token in use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhoAmI {
    pub user: UserView,
    pub token: TokenView,
}

/// `POST /api/v1/users`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// `PATCH /api/v1/users/{name}`: only the fields given change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
}

/// An API token's metadata; the secret is never shown again after creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: Uuid,
    pub user: String,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// `POST /api/v1/tokens`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    /// Days until the token expires; absent means it never expires.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    /// Whose token; only admins may name another user. Absent means the caller.
    #[serde(default)]
    pub user: Option<String>,
}

/// The answer to `POST /api/v1/tokens`: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: String,
    #[serde(flatten)]
    pub meta: TokenView,
}

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub actor_id: Option<Uuid>,
    pub token_prefix: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
    pub details: Option<serde_json::Value>,
}

/// A page of results, newest first; pass `next_before` as `before` for the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_before: Option<i64>,
}

/// `PUT /api/v1/keyring`: a root-signed keyring and the root public key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishKeyring {
    /// Base64 of the root public key. Pinned by the first publish.
    pub root_public_key: String,
    pub keyring: wavecast_protocol::envelope::Envelope,
}

/// `GET /api/v1/keyring`: the keyring the server trusts now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleView {
    pub id: Uuid,
    pub name: String,
    pub kind: wavecast_protocol::manifest::Kind,
    pub version: String,
    pub security_version: u64,
    pub state: crate::domain::bundle_state::BundleState,
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
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleActionRequest {
    #[serde(default)]
    pub reason: Option<String>,
}

/// A device as the management API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceView {
    pub id: Uuid,
    pub serial: String,
    pub model: String,
    pub hardware_revision: String,
    pub status: crate::domain::enrolment::DeviceStatus,
    pub public_key: String,
    pub credential_prefix: Option<String>,
    pub credential_expires_at: Option<DateTime<Utc>>,
    pub agent_version: Option<String>,
    pub boot_slot: Option<String>,
    pub timezone: Option<String>,
    pub region: Option<String>,
    pub tags: Vec<String>,
    pub installed: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub subscriber_id: Option<Uuid>,
    /// When the subscriber started using it (the warranty runs from then).
    pub activated_at: Option<DateTime<Utc>>,
    pub warranty_void_reason: Option<String>,
    /// The box that replaced this one under warranty.
    pub replaced_by: Option<Uuid>,
}

/// The answer to `POST /api/v1/devices/import`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportResult {
    /// Serials newly pre-authorised.
    pub added: u64,
    /// Serials already on the list.
    pub already: u64,
    /// Pending devices accepted because their serial is now pre-authorised.
    pub accepted: u64,
}

/// `POST /api/v1/rollouts`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRollout {
    pub name: String,
    /// Bundles by id or `name@version`, in the order they should install.
    pub bundles: Vec<String>,
    #[serde(default)]
    pub target: crate::domain::rollout::Target,
    pub waves: Vec<crate::domain::rollout::WavePlan>,
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
    pub window: Option<crate::domain::window::TimeWindow>,
    /// At most this many devices downloading at once.
    #[serde(default)]
    pub max_concurrent_downloads: Option<u32>,
    /// Pause when updated boxes fault more than boxes not yet updated.
    #[serde(default)]
    pub health_gate: Option<crate::domain::gate::HealthGate>,
}

/// Counts of devices by install outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RolloutCounts {
    pub reported: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub in_progress: u64,
}

/// A rollout as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolloutView {
    pub id: Uuid,
    pub name: String,
    pub state: crate::domain::rollout::RolloutState,
    pub reason: Option<String>,
    pub bundles: Vec<String>,
    pub target: crate::domain::rollout::Target,
    pub waves: Vec<crate::domain::rollout::WavePlan>,
    pub open_waves: u32,
    pub wave_opened_at: Option<DateTime<Utc>>,
    pub starts_at: DateTime<Utc>,
    pub device_timeout_secs: u64,
    pub allow_downgrade: bool,
    pub window: Option<crate::domain::window::TimeWindow>,
    pub max_concurrent_downloads: Option<u32>,
    pub health_gate: Option<crate::domain::gate::HealthGate>,
    pub rollback_of: Option<Uuid>,
    pub counts: RolloutCounts,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The kinds of event a box sends, as the `type` of its events and the
/// `?type=` filter of `GET /api/v1/devices/{ref}/events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Health,
    Fault,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Health => "health",
            EventKind::Fault => "fault",
        }
    }

    /// The kind of an event as sent.
    pub fn of(event: &wavecast_protocol::events::Event) -> Self {
        match event.body {
            wavecast_protocol::events::EventBody::Health(_) => EventKind::Health,
            wavecast_protocol::events::EventBody::Fault(_) => EventKind::Fault,
        }
    }
}

/// An event as stored: what the box sent and when the server received it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    #[serde(flatten)]
    pub event: wavecast_protocol::events::Event,
    pub received_at: DateTime<Utc>,
}

/// `GET /api/v1/devices/{ref}/events`: a box's events, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceEvents {
    pub device_id: Uuid,
    /// Events the box dropped over its lifetime because its queue was full
    /// while offline (the highest count it has reported).
    pub dropped_total: u64,
    pub events: Vec<StoredEvent>,
}

/// A fault catalog entry as the API shows it (`GET /api/v1/fault-catalog`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogEntryView {
    #[serde(flatten)]
    pub entry: crate::domain::faults::CatalogEntry,
    pub updated_at: DateTime<Utc>,
}

/// `PUT /api/v1/fault-catalog/{code}`: the entry without its code, which the
/// path names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntryBody {
    pub title: String,
    pub class: crate::domain::faults::FaultClass,
    pub severity: crate::domain::faults::Severity,
    pub kb: String,
    pub policy: crate::domain::faults::TicketPolicy,
}

/// A fleet problem (`GET /api/v1/problems`): faults with one code and
/// signature across boxes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemView {
    pub id: Uuid,
    pub code: String,
    /// The boxes' signature; absent when the faults came without one.
    pub signature: Option<String>,
    /// From the fault catalog, when it knows the code.
    pub title: Option<String>,
    pub class: Option<crate::domain::faults::FaultClass>,
    pub severity: Option<crate::domain::faults::Severity>,
    pub status: crate::domain::problems::ProblemStatus,
    /// Box time of the first and latest fault, Unix seconds.
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub occurrences: u64,
    /// Boxes affected.
    pub devices: u64,
    /// Boxes affected by model.
    pub models: std::collections::BTreeMap<String, u64>,
    /// Boxes affected by the versions they ran at their latest such fault
    /// (`name@version, …`).
    pub versions: std::collections::BTreeMap<String, u64>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The newest version of each component seen when it was resolved: a
    /// fault on a newer one reopens it.
    pub resolved_versions: Option<std::collections::BTreeMap<String, String>>,
    pub reopened_count: u32,
}

/// `GET /api/v1/devices/{ref}/series`: one metric of a box's health reports
/// over a time range, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub device_id: Uuid,
    pub metric: String,
    /// The range asked for, Unix seconds, both ends included.
    pub from: i64,
    pub to: i64,
    /// Raw reports, or hourly rollups.
    pub resolution: crate::domain::metrics::Resolution,
    /// `[time, value]`, from the reports that carry the metric; hourly: the
    /// hour's start and mean.
    pub points: Vec<(i64, f64)>,
    /// Hourly only: each hour's count, mean, minimum and maximum.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hourly: Vec<HourPoint>,
    /// True when the range held more reports (or hours) than `limit`: the
    /// points stop at the limit; ask again from the last point's time.
    pub truncated: bool,
}

/// One metric over one hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourPoint {
    pub at: i64,
    pub count: u32,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// `GET /api/v1/fleet/summary`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetSummary {
    /// Accepted boxes.
    pub devices: u64,
    /// Of those, heard from within `online_secs`.
    pub online: u64,
    pub online_secs: u64,
    /// Accepted boxes by model and firmware (`name@version`).
    pub versions: Vec<VersionCount>,
    /// Over the last `days` days.
    pub days: u32,
    pub fault_rates: Vec<crate::domain::fleet::FaultRate>,
}

/// Boxes of one model on one firmware version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VersionCount {
    pub model: String,
    pub firmware: Option<String>,
    pub devices: u64,
    pub online: u64,
}
