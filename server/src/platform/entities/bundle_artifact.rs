//! The `bundle_artifacts` table: each bundle's artifacts, pointing at blobs by SHA-256.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bundle_artifacts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub bundle_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub idx: i32,
    pub name: String,
    pub size: i64,
    pub sha256: String,
    pub target: String,
    pub compression: String,
    /// Hex SHA-1 and MD5 of the stored bytes, kept for artifacts that
    /// hawkBit DDI clients fetch (they check SHA-1); `None` for the rest.
    pub sha1: Option<String>,
    pub md5: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::bundle::Entity",
        from = "Column::BundleId",
        to = "super::bundle::Column::Id"
    )]
    Bundle,
}

impl Related<super::bundle::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Bundle.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
