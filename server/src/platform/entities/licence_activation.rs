//! The `licence_activations` table: a licence bound to a box (by device id
//! and the identity key it enrolled with) until it is deactivated.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "licence_activations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub licence_id: Uuid,
    pub device_id: Uuid,
    /// The box's identity key (base64) when it was activated.
    pub device_key: String,
    pub activated_at: ChronoDateTimeUtc,
    pub deactivated_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
