//! The `device_events` table: health reports and faults boxes sent, one row
//! per event, keyed by the box and the id it gave the event.

use crate::fleet::telemetry::rules::EventKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "device_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub device_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    /// health, fault.
    pub kind: EventKind,
    /// When it happened on the box, in Unix seconds.
    pub at: i64,
    pub received_at: ChronoDateTimeUtc,
    /// The fault catalog code (faults only).
    pub code: Option<String>,
    /// The event as the box sent it (`wavecast_protocol::events::Event`).
    pub body: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
