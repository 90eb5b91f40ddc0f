//! The `licence_validations` table: the validation log — each question
//! asked of the validation API and the code it was answered with.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "licence_validations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub at: ChronoDateTimeUtc,
    /// The licence found, if any.
    pub licence_id: Option<Uuid>,
    /// The box asked about (or asking), if any.
    pub device_id: Option<Uuid>,
    pub product: Option<String>,
    pub valid: bool,
    /// The answer's code (`VALID`, `TOO_MANY_DEVICES`, …).
    pub code: String,
    /// Who asked: a user's or token's name, or `device SERIAL`.
    pub caller: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
