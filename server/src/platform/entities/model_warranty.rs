//! The `model_warranties` table: the warranty period of each box model.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "model_warranties")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub model: String,
    pub months: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
