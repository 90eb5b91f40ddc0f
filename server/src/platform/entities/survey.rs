//! The `surveys` table: one satisfaction survey per resolved ticket,
//! answered once through its single-use token.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "surveys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ticket_id: i64,
    pub prefix: String,
    pub secret_hash: String,
    pub created_at: ChronoDateTimeUtc,
    pub answered_at: Option<ChronoDateTimeUtc>,
    pub score: Option<i32>,
    pub comment: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
