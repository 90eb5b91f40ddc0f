//! What the licence routes take and answer (shared with the CLI).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::rules::{Code, Expiry, LicenceState};

/// `POST /api/v1/products`
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductBody {
    /// What manifests name as `licensed_product`, e.g. `codec-ddp`.
    pub code: String,
    pub name: String,
    /// Entitlement codes of the product, e.g. `atmos`.
    #[serde(default)]
    pub entitlements: Vec<String>,
}

/// A product.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProductView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub entitlements: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/licence-policies`
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    pub name: String,
    /// The product's code.
    pub product: String,
    /// Days a licence lasts from its start; absent: for ever.
    #[serde(default)]
    pub duration_days: Option<u32>,
    pub expiry: Expiry,
    /// Days after expiry a licence still counts as valid.
    #[serde(default)]
    pub grace_days: u32,
    /// Boxes that may hold an activation at once (1 when not floating).
    pub max_boxes: u32,
    /// An activation may move to another box; otherwise node-locked.
    #[serde(default)]
    pub floating: bool,
    /// Activations in any 24 hours.
    pub max_activations_per_day: u32,
    /// Entitlement codes granted (each a code of the product).
    #[serde(default)]
    pub entitlements: Vec<String>,
}

/// A policy.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicyView {
    pub id: Uuid,
    pub name: String,
    pub product: String,
    pub duration_days: Option<u32>,
    pub expiry: Expiry,
    pub grace_days: u32,
    pub max_boxes: u32,
    pub floating: bool,
    pub max_activations_per_day: u32,
    pub entitlements: Vec<String>,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/licences`: held by a subscriber or by one box.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenceBody {
    /// The policy's name.
    pub policy: String,
    /// A subscriber's id or account.
    #[serde(default)]
    pub subscriber: Option<String>,
    /// A box's id or serial.
    #[serde(default)]
    pub device: Option<String>,
    /// When it starts (now by default).
    #[serde(default)]
    pub starts_at: Option<DateTime<Utc>>,
    /// When it ends (by default the policy's duration after its start).
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// Entitlement codes beyond the policy's.
    #[serde(default)]
    pub entitlements: Vec<String>,
}

/// A licence (never its key, which is shown once when it is made).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LicenceView {
    pub id: Uuid,
    /// The first characters of the key, to recognise it.
    pub key_prefix: String,
    pub policy: String,
    pub product: String,
    pub subscriber_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    pub state: LicenceState,
    pub entitlements: Vec<String>,
    pub starts_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Boxes holding an activation now.
    pub activations: Vec<ActivationView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new licence with its key, shown only this once.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LicenceCreated {
    #[serde(flatten)]
    pub licence: LicenceView,
    /// The licence key (`wcl_…`); stored only hashed.
    pub key: String,
}

/// A box holding a licence.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActivationView {
    pub device_id: Uuid,
    pub serial: String,
    pub activated_at: DateTime<Utc>,
}

/// `POST /api/v1/licences/{id}/activations`
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivationBody {
    /// The box's id or serial.
    pub device: String,
}

/// `POST /api/v1/licences/validate`: a licence by key (or id), in a scope.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidateBody {
    /// The licence key.
    #[serde(default)]
    pub key: Option<String>,
    /// Or the licence's id.
    #[serde(default)]
    pub licence: Option<Uuid>,
    /// The product the caller wants to use.
    #[serde(default)]
    pub product: Option<String>,
    /// The box (id or serial) that wants to use it.
    #[serde(default)]
    pub device: Option<String>,
    /// Entitlement codes needed.
    #[serde(default)]
    pub entitlements: Vec<String>,
    /// Echoed in the answer, so an answer is known to be for this request.
    #[serde(default)]
    pub nonce: Option<String>,
}

/// The answer of a validation.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Validation {
    /// The box may use the product now.
    pub valid: bool,
    pub code: Code,
    pub detail: String,
    /// Updates of the product may be offered.
    pub updates: bool,
    /// The licence validated, when one was found.
    pub licence_id: Option<Uuid>,
    /// When the server answered.
    pub ts: DateTime<Utc>,
    /// The caller's nonce.
    pub nonce: Option<String>,
    /// When the caller sent a nonce: this answer signed by the server's
    /// online key under the keyring's `licence` role (an envelope of type
    /// `application/vnd.wavecast.licence-validation+json` over the verdict,
    /// the nonce and the time), so an answer cannot be forged or replayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed: Option<wavecast_protocol::envelope::Envelope>,
}

/// One question in the validation log.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ValidationLogEntry {
    pub at: DateTime<Utc>,
    pub licence_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    /// The box's serial, while it exists.
    pub serial: Option<String>,
    pub product: Option<String>,
    pub valid: bool,
    pub code: String,
    /// Who asked: a user's name, or `device SERIAL`.
    pub caller: String,
}

/// `POST /api/v1/device/licences/validate`: the box asks about itself.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceValidateBody {
    /// The product the box wants to use.
    pub product: String,
    /// Entitlement codes needed.
    #[serde(default)]
    pub entitlements: Vec<String>,
    /// Echoed in the answer.
    #[serde(default)]
    pub nonce: Option<String>,
}
