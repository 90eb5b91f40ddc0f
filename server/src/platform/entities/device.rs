//! The `devices` table: enrolled (or waiting) boxes and their inventory.

use crate::fleet::devices::rules::{Client, DeviceStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "devices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub serial: String,
    pub model: String,
    pub hardware_revision: String,
    /// Base64 Ed25519 identity key.
    pub public_key: String,
    /// pending, accepted, rejected, decommissioned.
    pub status: DeviceStatus,
    pub credential_prefix: Option<String>,
    pub credential_hash: Option<String>,
    pub credential_expires_at: Option<ChronoDateTimeUtc>,
    pub agent_version: Option<String>,
    pub boot_slot: Option<String>,
    pub timezone: Option<String>,
    pub region: Option<String>,
    pub tags: Option<Json>,
    pub installed: Option<Json>,
    /// The subscriber this box belongs to (after-sales; set later).
    pub subscriber_id: Option<Uuid>,
    pub created_at: ChronoDateTimeUtc,
    pub accepted_at: Option<ChronoDateTimeUtc>,
    pub last_seen_at: Option<ChronoDateTimeUtc>,
    /// When the credential, status or targeting facts last changed (device
    /// directories on every instance follow it).
    pub changed_at: Option<ChronoDateTimeUtc>,
    /// When the subscriber started using the box: its warranty runs from
    /// then.
    pub activated_at: Option<ChronoDateTimeUtc>,
    /// Set when the warranty is void, saying why.
    pub warranty_void_reason: Option<String>,
    /// The box that replaced this one under warranty.
    pub replaced_by: Option<Uuid>,
    /// What the box runs to talk to us: our agent, or a hawkBit DDI client.
    pub client: Client,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
