//! The `problems` table: one fleet problem per fault code and signature.

use crate::fleet::problems::rules::ProblemStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "problems")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub code: String,
    /// The box's signature, or empty when faults came without one.
    pub signature: String,
    /// open, resolved.
    pub status: ProblemStatus,
    /// Box time of the first and latest fault, Unix seconds.
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub occurrences: i64,
    pub resolved_at: Option<ChronoDateTimeUtc>,
    /// Component name → the newest version seen when it was resolved.
    pub resolved_versions: Option<Json>,
    pub reopened_count: i32,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
