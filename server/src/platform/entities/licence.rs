//! The `licences` table: a licence held by a subscriber or a box under a
//! policy, its key stored as prefix and hash only.

use sea_orm::entity::prelude::*;

use crate::licences::rules::LicenceState;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "licences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub policy_id: Uuid,
    pub key_prefix: String,
    pub key_hash: String,
    /// Set when a subscriber holds it (their boxes use it).
    pub subscriber_id: Option<Uuid>,
    /// Set when one box holds it.
    pub device_id: Option<Uuid>,
    /// Entitlement codes beyond the policy's, a JSON array of strings.
    pub entitlements: Json,
    pub state: LicenceState,
    pub starts_at: ChronoDateTimeUtc,
    pub expires_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
