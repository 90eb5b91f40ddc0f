//! The `ticket_log` table: a ticket's history: comments (public or
//! internal), fault occurrences, status changes, assignment, escalation.

use crate::support::tickets::rules::LogKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ticket_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub ticket_id: i64,
    pub at: ChronoDateTimeUtc,
    pub kind: LogKind,
    /// A user's name, `subscriber:ACCOUNT`, or `wavecast`.
    pub author: String,
    /// Shown to the subscriber.
    pub public: bool,
    pub body: Option<String>,
    pub data: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
