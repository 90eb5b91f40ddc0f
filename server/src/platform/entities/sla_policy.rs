//! The `sla_policies` table: a plan's targets for one ticket kind.

use crate::support::tickets::rules::TicketKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sla_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub plan: String,
    /// warranty, repair, support.
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: TicketKind,
    pub first_response_secs: i64,
    pub resolution_secs: i64,
    /// `support::sla::CalendarSpec`.
    pub calendar: Json,
    pub warn_pct: i32,
    /// The user a breached ticket is handed to, if any.
    pub escalate_to: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
