//! The `bundles` table: verified bundles and their lifecycle state.

use super::columns::Stored;
use crate::updates::bundles::rules::BundleState;
use sea_orm::entity::prelude::*;
use wavecast_protocol::manifest::Kind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "bundles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub kind: Stored<Kind>,
    pub version: String,
    pub security_version: i64,
    pub state: BundleState,
    /// The signed manifest envelope, as JSON text.
    pub manifest_envelope: String,
    /// SHA-256 of the manifest payload bytes: same manifest, same content.
    pub manifest_sha256: String,
    pub keyring_version: i64,
    pub signer_keyid: String,
    pub payload_size: i64,
    pub licensed_product: Option<String>,
    pub uploaded_by: String,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::bundle_artifact::Entity")]
    Artifacts,
}

impl Related<super::bundle_artifact::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Artifacts.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
