//! The `ddi_targets` table: a box that speaks hawkBit's DDI API — its
//! controller id, its hashed `TargetToken` (none until one is issued, or
//! after it is revoked) and the attributes it sent with `configData`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ddi_targets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub device_id: Uuid,
    #[sea_orm(unique)]
    pub controller_id: String,
    pub token_prefix: Option<String>,
    pub token_hash: Option<String>,
    pub attributes: Option<Json>,
    pub attributes_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
