//! The `fault_catalog` table: one row per fault code (see
//! `fleet::catalog::rules::CatalogEntry`).

use crate::fleet::catalog::rules::{FaultClass, Severity};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "fault_catalog")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub title: String,
    /// hardware, software, network.
    pub class: FaultClass,
    /// minor, major, critical.
    pub severity: Severity,
    pub kb: String,
    pub policy_occurrences: i32,
    pub policy_window_hours: i32,
    pub policy_immediate: bool,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
