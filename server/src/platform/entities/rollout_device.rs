//! The `rollout_devices` table: each device's install status per rollout and bundle.

use super::columns::Stored;
use sea_orm::entity::prelude::*;
use wavecast_protocol::status::InstallState;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rollout_devices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub rollout_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub device_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub bundle_id: Uuid,
    pub state: Stored<InstallState>,
    pub progress: Option<i32>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub started_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
