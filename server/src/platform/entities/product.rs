//! The `products` table: what is sold under licence (a codec pack, a DRM
//! level, an app), by code, with the entitlement codes it knows.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// What bundle manifests name as `licensed_product`.
    pub code: String,
    pub name: String,
    /// Entitlement codes, a JSON array of strings.
    pub entitlements: Json,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
