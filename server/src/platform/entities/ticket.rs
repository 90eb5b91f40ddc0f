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
    /// The earliest due time of an SLA target not yet met
    /// (`support::tickets::due`); stamped on every save.
    pub next_due_at: Option<ChronoDateTimeUtc>,
    /// When the SLA sweep must look next; stamped on every save.
    pub sweep_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

/// Every save stamps `next_due_at` and `sweep_at` from the fields that
/// decide them, so no writer can leave them stale. A partial update that
/// leaves one of those fields unset keeps the stored times.
#[async_trait::async_trait]
impl ActiveModelBehavior for ActiveModel {
    async fn before_save<C>(mut self, _db: &C, _insert: bool) -> Result<Self, DbErr>
    where
        C: ConnectionTrait,
    {
        if let Some(d) = due_times_of(&self)? {
            self.next_due_at = sea_orm::Set(d.next_due);
            self.sweep_at = sea_orm::Set(d.sweep_at);
        }
        Ok(self)
    }
}

fn due_times_of(m: &ActiveModel) -> Result<Option<crate::support::tickets::due::DueTimes>, DbErr> {
    use crate::support::tickets::due::{clock_of, due_times, terms_of, Acted};
    let (
        Some(status),
        Some(sla),
        Some(pauses),
        Some(opened_at),
        Some(first_response_at),
        Some(resolved_at),
        Some(closed_at),
        Some(warned_at),
        Some(breached_at),
    ) = (
        m.status.try_as_ref(),
        m.sla.try_as_ref(),
        m.pauses.try_as_ref(),
        m.created_at.try_as_ref(),
        m.first_response_at.try_as_ref(),
        m.resolved_at.try_as_ref(),
        m.closed_at.try_as_ref(),
        m.warned_at.try_as_ref(),
        m.breached_at.try_as_ref(),
    )
    else {
        return Ok(None);
    };
    // The same readers as a stored row's SLA (`support::tickets::due`).
    let unreadable = |e: crate::platform::error::Error| DbErr::Custom(e.to_string());
    let (terms, cal) = terms_of(sla).map_err(unreadable)?;
    let clock = clock_of(
        *opened_at,
        *first_response_at,
        *resolved_at,
        *closed_at,
        pauses,
    )
    .map_err(unreadable)?;
    let acted = Acted {
        warned: warned_at.is_some(),
        breached: breached_at.is_some(),
    };
    Ok(Some(due_times(
        &terms,
        &cal,
        &clock,
        status.is_active(),
        acted,
    )))
}
