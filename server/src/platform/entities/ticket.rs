//! The `tickets` table: warranty, post-warranty repair and support tickets,
//! opened by boxes' faults or by support staff from other channels.

use crate::support::tickets::rules::{Channel, Priority, TicketKind, TicketStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// warranty, repair, support.
    pub kind: TicketKind,
    /// new, open, pending, resolved, closed.
    pub status: TicketStatus,
    /// low, normal, high, urgent.
    pub priority: Priority,
    pub subject: String,
    /// device, phone, email, chat, app, social, portal.
    pub channel: Channel,
    pub subscriber_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    /// The subscriber's plan when the ticket opened.
    pub plan: String,
    pub fault_code: Option<String>,
    /// Fault code and signature: one ticket that is not closed per box and key.
    pub dedup_key: Option<String>,
    pub problem_id: Option<Uuid>,
    pub rollout_id: Option<Uuid>,
    pub assignee: Option<Uuid>,
    pub occurrences: i64,
    pub first_fault_at: Option<ChronoDateTimeUtc>,
    pub last_fault_at: Option<ChronoDateTimeUtc>,
    /// The box's components at its latest fault.
    pub versions: Option<Json>,
    /// `support::tickets::rules::SlaTerms` the ticket opened with.
    pub sla: Json,
    /// `[support::sla::Pause]`: while waiting on the customer.
    pub pauses: Json,
    pub first_response_at: Option<ChronoDateTimeUtc>,
    pub resolved_at: Option<ChronoDateTimeUtc>,
    /// The box's components when the ticket was resolved.
    pub resolved_versions: Option<Json>,
    pub closed_at: Option<ChronoDateTimeUtc>,
    pub warned_at: Option<ChronoDateTimeUtc>,
    pub breached_at: Option<ChronoDateTimeUtc>,
    pub escalation_level: i32,
    pub reopened_count: i32,
    /// Post-warranty repair quote.
    pub quote: Option<Json>,
    /// Warranty return (repair or replace).
    pub rma: Option<Json>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
