//! The `problem_devices` table: one row per problem and affected box.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "problem_devices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub problem_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub device_id: Uuid,
    pub model: String,
    /// `fleet::problems::rules::versions_key` of the box's latest such fault.
    pub versions: String,
    /// The components of that fault (`Vec<Component>`).
    pub installed: Json,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub occurrences: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
