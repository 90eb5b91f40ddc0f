//! A ticket as the API and webhooks show it ([`TicketView`]), with where
//! its SLA targets stand at a given time.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, EntityTrait};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::due::{clock_of, terms_of};
use super::rules::{
    self as rules, Channel, Priority, SlaTerms, SlaTimes, SlaView, TicketKind, TicketStatus,
};
use crate::{
    identity::users::store::name_of,
    platform::{
        entities::{device, ticket},
        error::Result,
        json::from_json_opt,
    },
    support::{quotes::rules::Quote, rma::rules::Rma},
};

/// A ticket as the API and webhooks show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketView {
    pub id: i64,
    pub kind: TicketKind,
    pub status: TicketStatus,
    pub priority: Priority,
    pub subject: String,
    pub channel: Channel,
    pub plan: String,
    pub subscriber_id: Option<Uuid>,
    pub device_id: Option<Uuid>,
    /// The box's serial.
    #[serde(default)]
    pub device_serial: Option<String>,
    pub fault_code: Option<String>,
    pub problem_id: Option<Uuid>,
    pub rollout_id: Option<Uuid>,
    pub assignee: Option<String>,
    pub occurrences: i64,
    pub first_fault_at: Option<DateTime<Utc>>,
    pub last_fault_at: Option<DateTime<Utc>>,
    pub versions: Option<serde_json::Value>,
    pub sla_terms: SlaTerms,
    pub sla: SlaView,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
    pub escalation_level: i32,
    pub reopened_count: i32,
    pub quote: Option<Quote>,
    pub rma: Option<Rma>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The SLA clock of a stored ticket.
pub fn sla_times_of(t: &ticket::Model) -> Result<SlaTimes> {
    clock_of(
        t.created_at,
        t.first_response_at,
        t.resolved_at,
        t.closed_at,
        &t.pauses,
    )
}

/// The terms and where they stand now.
pub fn sla_of(t: &ticket::Model, now: DateTime<Utc>) -> Result<(SlaTerms, SlaView)> {
    let (terms, cal) = terms_of(&t.sla)?;
    let view = rules::sla_view(&terms, &cal, &sla_times_of(t)?, now);
    Ok((terms, view))
}

/// The view of `t` at `now`.
pub async fn summary(
    db: &impl ConnectionTrait,
    t: &ticket::Model,
    now: DateTime<Utc>,
) -> Result<TicketView> {
    let (sla_terms, sla) = sla_of(t, now)?;
    Ok(TicketView {
        id: t.id,
        kind: t.kind,
        status: t.status,
        priority: t.priority,
        subject: t.subject.clone(),
        channel: t.channel,
        plan: t.plan.clone(),
        subscriber_id: t.subscriber_id,
        device_id: t.device_id,
        device_serial: match t.device_id {
            Some(id) => device::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|d| d.serial),
            None => None,
        },
        fault_code: t.fault_code.clone(),
        problem_id: t.problem_id,
        rollout_id: t.rollout_id,
        assignee: name_of(db, t.assignee).await?,
        occurrences: t.occurrences,
        first_fault_at: t.first_fault_at,
        last_fault_at: t.last_fault_at,
        versions: t.versions.clone(),
        sla_terms,
        sla,
        first_response_at: t.first_response_at,
        resolved_at: t.resolved_at,
        closed_at: t.closed_at,
        breached_at: t.breached_at,
        escalation_level: t.escalation_level,
        reopened_count: t.reopened_count,
        quote: from_json_opt(t.quote.as_ref(), "ticket quote")?,
        rma: from_json_opt(t.rma.as_ref(), "ticket return")?,
        created_at: t.created_at,
        updated_at: t.updated_at,
    })
}
