//! The `ddi_actions` table: one numbered action per bundle a rollout
//! offered a DDI box (hawkBit clients want integer ids), and where it
//! stands ([`ActionState`]).

use crate::ddi::rules::ActionState;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ddi_actions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub device_id: Uuid,
    pub rollout_id: Uuid,
    pub bundle_id: Uuid,
    pub state: ActionState,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
