//! Response and request bodies of the fleet's API — devices, their events
//! and metric series, the fault catalog, fleet problems and the fleet
//! summary — shared by the HTTP handlers and the `wavecast` CLI.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    catalog::rules::{CatalogEntry, FaultClass, Severity, TicketPolicy},
    devices::rules::{Client, DeviceStatus},
    problems::rules::ProblemStatus,
    summary::rules::FaultRate,
    telemetry::rules::Resolution,
};

/// A device as the management API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceView {
    pub id: Uuid,
    pub serial: String,
    pub model: String,
    pub hardware_revision: String,
    pub status: DeviceStatus,
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
    /// What it runs to talk to us: `agent`, or `ddi` (a hawkBit client).
    #[serde(default)]
    pub client: Client,
}

/// `GET /api/v1/devices` (and the console's device list): every filter
/// optional, all of them must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeviceQuery {
    /// pending, accepted, rejected or decommissioned.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub revision: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// Boxes carrying this tag.
    #[serde(default)]
    pub tag: Option<String>,
    /// `name` or `name@version`: boxes that run it.
    #[serde(default)]
    pub installed: Option<String>,
    /// `true`: heard from within `telemetry.online_secs`; `false`: not.
    #[serde(default)]
    pub online: Option<bool>,
    /// Serials starting with this.
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub limit: Option<u64>,
    #[serde(default)]
    pub offset: Option<u64>,
}

/// `PATCH /api/v1/devices/{ref}`: where a box is and how it is tagged, for
/// the fleet list's filters and rollout targets. An absent field stays as
/// it is; `"region": null` clears the region, `"tags": []` the tags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevicePlacement {
    #[serde(
        default,
        deserialize_with = "crate::http::params::present",
        skip_serializing_if = "Option::is_none"
    )]
    pub region: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

/// The answer to `POST /api/v1/devices/import`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportResult {
    /// Serials newly pre-authorised.
    pub added: u64,
    /// Serials already on the list.
    pub already: u64,
    /// Pending devices accepted because their serial is now pre-authorised.
    pub accepted: u64,
}

/// An event as stored: what the box sent and when the server received it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredEvent {
    #[serde(flatten)]
    pub event: wavecast_protocol::events::Event,
    pub received_at: DateTime<Utc>,
}

/// `GET /api/v1/devices/{ref}/events`: a box's events, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceEvents {
    pub device_id: Uuid,
    /// Events the box dropped over its lifetime because its queue was full
    /// while offline (the highest count it has reported).
    pub dropped_total: u64,
    pub events: Vec<StoredEvent>,
}

/// `GET /api/v1/devices/{ref}/series`: one metric of a box's health reports
/// over a time range, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Series {
    pub device_id: Uuid,
    pub metric: String,
    /// The range asked for, Unix seconds, both ends included.
    pub from: i64,
    pub to: i64,
    /// Raw reports, or hourly rollups.
    pub resolution: Resolution,
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HourPoint {
    pub at: i64,
    pub count: u32,
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// A fault catalog entry as the API shows it (`GET /api/v1/fault-catalog`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CatalogEntryView {
    #[serde(flatten)]
    #[schema(schema_with = open_catalog_entry)]
    pub entry: CatalogEntry,
    pub updated_at: DateTime<Utc>,
}

/// [`CatalogEntry`]'s schema without `additionalProperties: false` (from
/// its `deny_unknown_fields`, for catalog files), which inside the view's
/// `allOf` would refuse `updated_at`. Its classes, severities and policy
/// are components through [`CatalogEntryBody`].
fn open_catalog_entry() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::{schema::Schema, RefOr};
    let mut schema = <CatalogEntry as utoipa::PartialSchema>::schema();
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        object.additional_properties = None;
    }
    schema
}

/// `PUT /api/v1/fault-catalog/{code}`: the entry without its code, which the
/// path names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntryBody {
    pub title: String,
    pub class: FaultClass,
    pub severity: Severity,
    pub kb: String,
    pub policy: TicketPolicy,
}

/// A fleet problem (`GET /api/v1/problems`): faults with one code and
/// signature across boxes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProblemView {
    pub id: Uuid,
    pub code: String,
    /// The boxes' signature; absent when the faults came without one.
    pub signature: Option<String>,
    /// From the fault catalog, when it knows the code.
    pub title: Option<String>,
    pub class: Option<FaultClass>,
    pub severity: Option<Severity>,
    pub status: ProblemStatus,
    /// Box time of the first and latest fault, Unix seconds.
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub occurrences: u64,
    /// Boxes affected.
    pub devices: u64,
    /// Boxes affected by model.
    pub models: BTreeMap<String, u64>,
    /// Boxes affected by the versions they ran at their latest such fault
    /// (`name@version, …`).
    pub versions: BTreeMap<String, u64>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The newest version of each component seen when it was resolved: a
    /// fault on a newer one reopens it.
    pub resolved_versions: Option<BTreeMap<String, String>>,
    pub reopened_count: u32,
}

/// `GET /api/v1/fleet/summary`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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
    pub fault_rates: Vec<FaultRate>,
    /// Health reports received up to then are in the rates (the hourly
    /// rollup's progress); null before the first rollup pass.
    #[serde(default)]
    pub rates_through: Option<DateTime<Utc>>,
    /// Why rates are missing, when some are.
    #[serde(default)]
    pub rates_note: Option<String>,
}

/// Boxes of one model on one firmware version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionCount {
    pub model: String,
    pub firmware: Option<String>,
    pub devices: u64,
    pub online: u64,
}
