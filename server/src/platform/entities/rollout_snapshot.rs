//! The `rollout_snapshots` table: the latest reading of where a rollout's
//! boxes stand (`updates::rollouts::snapshot`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rollout_snapshots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub rollout_id: Uuid,
    pub computed_at: ChronoDateTimeUtc,
    /// `updates::rollouts::view::Reading`.
    pub reading: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
