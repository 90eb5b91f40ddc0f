//! The `audit_log` table: who did what to which object, when, from where.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: ChronoDateTimeUtc,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub token_prefix: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub source_ip: Option<String>,
    pub request_id: Option<String>,
    pub details: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
