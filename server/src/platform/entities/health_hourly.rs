//! The `health_hourly` table: one box's health reports rolled up over one
//! hour (per metric: count, sum, minimum, maximum), with its model and
//! firmware version then. Each row is also one device-hour of exposure for
//! fault rates.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "health_hourly")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub device_id: Uuid,
    /// The hour's start, in Unix seconds.
    #[sea_orm(primary_key, auto_increment = false)]
    pub hour: i64,
    pub model: String,
    pub firmware: Option<String>,
    pub reports: i32,
    /// `fleet::telemetry::rules::Rollup`: metric name → [count, sum, min, max].
    pub metrics: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
