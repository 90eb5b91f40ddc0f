//! The `install_steps` table: each state a box reported for a bundle of a
//! rollout, as it happened (`rollout_devices` keeps only the latest).

use super::columns::Stored;
use sea_orm::entity::prelude::*;
use wavecast_protocol::status::InstallState;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "install_steps")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub rollout_id: Uuid,
    pub device_id: Uuid,
    pub bundle_id: Uuid,
    pub state: Stored<InstallState>,
    pub progress: Option<i32>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
