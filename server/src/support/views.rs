//! Request and response bodies of the after-sales API — tickets and their
//! pages, plans, warranties, subscribers, support agents, webhooks and the
//! subscriber API — shared by the HTTP handlers and the `wavecast` CLI.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tickets::{
    rules::{Channel, LogKind, Priority, SlaTerms, TicketKind, TicketStatus, Warranty},
    view::TicketView,
};
use crate::{
    fleet::{catalog::rules::CatalogEntry, views::DeviceView},
    http::params::present,
    support::{quotes::rules::Quote, rma::rules::Rma},
};

/// `GET /api/v1/plans`: a plan with its SLA policy per ticket kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanView {
    pub key: String,
    pub name: String,
    pub rank: i32,
    pub sla: BTreeMap<TicketKind, SlaTerms>,
}

/// `GET /api/v1/warranties`: the warranty period of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WarrantyPeriod {
    pub model: String,
    pub months: i32,
}

/// `PATCH /api/v1/devices/{ref}/warranty`: the box and its warranty now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceWarranty {
    pub device: DeviceView,
    pub warranty: Warranty,
}

/// One of a subscriber's boxes, as their record lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubscriberDevice {
    pub id: Uuid,
    pub serial: String,
    pub model: String,
    pub activated_at: Option<DateTime<Utc>>,
}

/// A subscriber as the staff API shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubscriberView {
    pub id: Uuid,
    pub account: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub plan: String,
    /// The support user who takes their tickets, by name.
    pub dedicated_agent: Option<String>,
    pub devices: Vec<SubscriberDevice>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A subscriber API token, shown once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubscriberTokenCreated {
    pub prefix: String,
    pub token: String,
}

/// `GET /api/v1/support-agents`: one agent's queues and shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentView {
    pub user: Option<String>,
    pub queues: Vec<TicketKind>,
    pub on_shift: bool,
    pub last_assigned_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/webhooks`: an endpoint with its deliveries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub pending: u64,
    pub failed: u64,
    pub delivered: u64,
}

/// The answer to `POST /api/v1/webhooks`: the only time the secret is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WebhookCreated {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    pub secret: String,
}

/// One entry of a ticket's log, as support staff see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogView {
    pub at: DateTime<Utc>,
    pub kind: LogKind,
    pub author: String,
    pub public: bool,
    pub body: Option<String>,
    pub data: Option<serde_json::Value>,
}

/// The subscriber on a ticket's page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketSubscriber {
    pub id: Uuid,
    pub account: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub plan: String,
}

/// The box on a ticket's page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketDevice {
    pub id: Uuid,
    pub serial: String,
    pub model: String,
    pub installed: Option<serde_json::Value>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
}

/// Where to read more about a ticket's box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketLinks {
    pub device: String,
    pub events: String,
    pub faults: String,
    pub series: String,
    pub tickets: String,
    pub problem: Option<String>,
    pub rollout: Option<String>,
}

/// `GET /api/v1/tickets/{id}`: the ticket, its whole log, the catalog's
/// article for its fault, and where to read the box's telemetry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketDetail {
    pub ticket: TicketView,
    pub subscriber: Option<TicketSubscriber>,
    pub device: Option<TicketDevice>,
    pub warranty: Option<Warranty>,
    pub kb: Option<CatalogEntry>,
    pub links: Option<TicketLinks>,
    pub log: Vec<LogView>,
}

/// `GET /api/v1/subscriber/boxes`: one of the caller's boxes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubscriberBox {
    pub id: Uuid,
    pub serial: String,
    pub model: String,
    pub installed: Option<serde_json::Value>,
    pub online: bool,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
    pub warranty: Warranty,
    pub open_tickets: u64,
}

/// A ticket as the subscriber sees it: no assignee, no internal details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubscriberTicket {
    pub id: i64,
    pub kind: TicketKind,
    pub status: TicketStatus,
    pub subject: String,
    pub channel: Channel,
    pub device_id: Option<Uuid>,
    pub fault_code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub quote: Option<Quote>,
    pub rma: Option<Rma>,
}

impl From<TicketView> for SubscriberTicket {
    fn from(t: TicketView) -> Self {
        Self {
            id: t.id,
            kind: t.kind,
            status: t.status,
            subject: t.subject,
            channel: t.channel,
            device_id: t.device_id,
            fault_code: t.fault_code,
            created_at: t.created_at,
            updated_at: t.updated_at,
            first_response_at: t.first_response_at,
            resolved_at: t.resolved_at,
            quote: t.quote,
            rma: t.rma,
        }
    }
}

/// One public entry of a ticket's log, as the subscriber sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublicLogEntry {
    pub at: DateTime<Utc>,
    pub kind: LogKind,
    pub body: Option<String>,
    /// `you` or `support`.
    pub author: String,
}

/// `GET /api/v1/subscriber/tickets/{id}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubscriberTicketDetail {
    pub ticket: SubscriberTicket,
    pub log: Vec<PublicLogEntry>,
}

/// A knowledge-base article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KbArticle {
    pub code: String,
    pub title: String,
    pub article: String,
}

impl From<CatalogEntry> for KbArticle {
    fn from(e: CatalogEntry) -> Self {
        Self {
            code: e.code,
            title: e.title,
            article: e.kb,
        }
    }
}

/// `GET /api/v1/subscriber/surveys`: a survey not answered yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingSurvey {
    pub ticket_id: i64,
    pub subject: Option<String>,
    pub since: DateTime<Utc>,
}

/// `POST /api/v1/tickets`: a ticket from a phone call, an email, a chat,
/// the app, social media or the portal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicketBody {
    pub channel: Channel,
    pub subject: String,
    #[serde(default)]
    pub body: Option<String>,
    pub kind: Option<TicketKind>,
    /// A subscriber id or account number.
    pub subscriber: Option<String>,
    /// A device id or serial (it must belong to the subscriber when both
    /// are named).
    pub device: Option<String>,
    #[serde(default)]
    pub priority: Option<Priority>,
}

/// `PATCH /api/v1/tickets/{id}`: status, assignee, priority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketChange {
    pub status: Option<TicketStatus>,
    /// A user name, or null to unassign.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub assignee: Option<Option<String>>,
    pub priority: Option<Priority>,
}

/// `POST /api/v1/tickets/{id}/comments`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketComment {
    pub body: String,
    /// Shown to the subscriber; internal notes are not.
    #[serde(default)]
    pub public: bool,
}

/// `POST /api/v1/tickets/{id}/quote`: a paid repair's price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteBody {
    /// In the currency's minor unit (cents).
    pub amount_minor: i64,
    pub currency: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST /api/v1/tickets/{id}/quote/answer`: the subscriber's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteAnswer {
    pub accepted: bool,
}

/// `POST /api/v1/tickets/{id}/rma`: repair or replace a box under warranty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "lowercase", tag = "action")]
pub enum RmaBody {
    /// The box goes to the workshop and comes back.
    Repair {
        #[serde(default)]
        note: Option<String>,
    },
    /// A new box: the subscriber, licences and history move to it and the
    /// old one is retired.
    Replace {
        /// The replacement's serial or id (enrolled).
        replacement: String,
        #[serde(default)]
        note: Option<String>,
    },
}

/// `PUT /api/v1/plans/{key}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanBody {
    pub name: String,
    /// Higher is served first; 2 and above raise ticket priority.
    pub rank: i32,
}

/// `PUT /api/v1/warranties/{model}`: the warranty period in months.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WarrantyBody {
    pub months: i32,
}

/// `PATCH /api/v1/devices/{ref}/warranty`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceWarrantyBody {
    /// When the subscriber started using the box.
    pub activated_at: Option<DateTime<Utc>>,
    /// Why the warranty is void; null restores it.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub void_reason: Option<Option<String>>,
}

/// `PUT /api/v1/support-agents/{user}`: the ticket kinds (queues) the
/// agent works and whether they are on shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentBody {
    pub queues: Vec<TicketKind>,
    pub on_shift: bool,
}

/// `POST /api/v1/webhooks`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    pub url: String,
    /// Event names (`ticket.opened`, `ticket.sla_breached`, …) or `["*"]`.
    pub events: Vec<String>,
    /// The HMAC key; generated when not given.
    #[serde(default)]
    pub secret: Option<String>,
}

/// `POST /api/v1/subscribers`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriberBody {
    pub account: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    pub plan: String,
    /// A support user's name.
    #[serde(default)]
    pub dedicated_agent: Option<String>,
}

/// `PATCH /api/v1/subscribers/{ref}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriberPatch {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub plan: Option<String>,
    /// A support user's name, or null to remove.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub dedicated_agent: Option<Option<String>>,
}

/// `POST /api/v1/subscribers/{ref}/devices`: links a box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    /// A device id or serial.
    pub device: String,
    /// When the subscriber started using it (default: now, unless already
    /// set).
    pub activated_at: Option<DateTime<Utc>>,
}
