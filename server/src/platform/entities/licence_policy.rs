//! The `licence_policies` table: the terms licences of a product are sold
//! under (duration, expiry behaviour, grace, box limits).

use sea_orm::entity::prelude::*;

use crate::licences::rules::Expiry;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "licence_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub product_id: Uuid,
    /// `None`: licences never end.
    pub duration_secs: Option<i64>,
    pub expiry: Expiry,
    pub grace_secs: i64,
    pub max_boxes: i32,
    pub floating: bool,
    pub max_activations_per_day: i32,
    /// Entitlement codes granted, a JSON array of strings.
    pub entitlements: Json,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
