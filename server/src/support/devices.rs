//! `GET /api/v1/devices/{ref}`: one box as the people working it see it —
//! the fleet's record (`fleet::devices`) with what the other areas know of
//! it: whether it is online, what it runs, the rollouts that reached it,
//! its warranty, its subscriber and its open tickets. Composed here, above
//! fleet and updates, so the fleet area stays free of after-sales.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wavecast_protocol::status::InstallState;

use crate::{
    fleet::{
        devices::store::{device_view, find},
        summary::rules::online,
        views::DeviceView,
    },
    identity::{
        auth::{access, Auth},
        users::store::name_of,
    },
    platform::{
        entities::{bundle, rollout, rollout_device, subscriber, ticket},
        error::Result,
    },
    state::AppState,
    support::{
        tickets::{
            rules::{Priority, TicketKind, TicketStatus, Warranty},
            store::ACTIVE,
        },
        warranty::store::warranty_of,
    },
    updates::installs::store::steps_of,
};

/// How many install attempts the page lists, newest first.
const HISTORY: u64 = 50;

/// `GET /api/v1/devices/{ref}`: the fleet's record (the same fields as in
/// the device list) and the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceDetail {
    #[serde(flatten)]
    pub device: DeviceView,
    /// Heard from within `telemetry.online_secs`.
    pub online: bool,
    pub warranty: Warranty,
    pub subscriber: Option<DeviceSubscriber>,
    /// Install attempts by rollouts, newest first (at most 50).
    pub rollouts: Vec<DeviceInstall>,
    pub open_tickets: Vec<DeviceTicket>,
}

/// The box's subscriber.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceSubscriber {
    pub id: Uuid,
    pub account: String,
    pub name: String,
    pub plan: String,
}

/// One bundle a rollout offered the box, and how its install went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceInstall {
    pub rollout_id: Uuid,
    pub rollout: String,
    /// `name@version`.
    pub bundle: String,
    pub state: InstallState,
    pub code: Option<String>,
    pub message: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// Each state the install reached, oldest first (empty for installs
    /// from before steps were kept).
    #[serde(default)]
    pub steps: Vec<InstallStepView>,
}

/// One state an install reached, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InstallStepView {
    pub state: InstallState,
    pub progress: Option<i32>,
    pub code: Option<String>,
    pub message: Option<String>,
    pub at: DateTime<Utc>,
}

/// One of the box's open tickets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceTicket {
    pub id: i64,
    pub kind: TicketKind,
    pub status: TicketStatus,
    pub priority: Priority,
    pub subject: String,
    pub assignee: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// `GET /api/v1/devices/{id or serial}`
#[utoipa::path(
    get,
    path = "/api/v1/devices/{reference}",
    tag = "support",
    params(("reference" = String, Path, description = "Device id or serial")),
    security(("operator" = [])),
    responses(
        (status = 200, description = "The box's fleet record with its warranty, subscriber, rollouts and open tickets", body = DeviceDetail),
    )
)]
pub async fn show(
    _: Auth<access::Viewer>,
    state: web::Data<AppState>,
    reference: web::Path<String>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(detail(&state, &reference).await?))
}

/// The page of the box `reference` names (the API's and the console's).
pub async fn detail(state: &AppState, reference: &str) -> Result<DeviceDetail> {
    let db = &state.db;
    let now = state.clock.now();
    let d = find(db, reference).await?;
    let warranty = warranty_of(db, &d, now).await?;
    let subscriber = match d.subscriber_id {
        Some(id) => subscriber::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|s| DeviceSubscriber {
                id: s.id,
                account: s.account,
                name: s.name,
                plan: s.plan,
            }),
        None => None,
    };
    let installs = rollout_device::Entity::find()
        .filter(rollout_device::Column::DeviceId.eq(d.id))
        .order_by_desc(rollout_device::Column::UpdatedAt)
        .limit(HISTORY)
        .all(db)
        .await?;
    let steps = steps_of(db, d.id, installs.iter().map(|r| r.rollout_id).collect()).await?;
    let mut rollouts = Vec::with_capacity(installs.len());
    for row in installs {
        let r = rollout::Entity::find_by_id(row.rollout_id).one(db).await?;
        let b = bundle::Entity::find_by_id(row.bundle_id).one(db).await?;
        rollouts.push(DeviceInstall {
            rollout_id: row.rollout_id,
            rollout: r.map_or_else(|| row.rollout_id.to_string(), |r| r.name),
            bundle: b.map_or_else(
                || row.bundle_id.to_string(),
                |b| format!("{}@{}", b.name, b.version),
            ),
            state: *row.state,
            code: row.code,
            message: row.message,
            updated_at: row.updated_at,
            steps: steps
                .iter()
                .filter(|s| s.rollout_id == row.rollout_id && s.bundle_id == row.bundle_id)
                .cloned()
                .map(|s| InstallStepView {
                    state: *s.state,
                    progress: s.progress,
                    code: s.code,
                    message: s.message,
                    at: s.at,
                })
                .collect(),
        });
    }
    let tickets = ticket::Entity::find()
        .filter(ticket::Column::DeviceId.eq(d.id))
        .filter(ticket::Column::Status.is_in(ACTIVE))
        .order_by_desc(ticket::Column::Id)
        .all(db)
        .await?;
    let mut open_tickets = Vec::with_capacity(tickets.len());
    for t in tickets {
        open_tickets.push(DeviceTicket {
            id: t.id,
            kind: t.kind,
            status: t.status,
            priority: t.priority,
            subject: t.subject,
            assignee: name_of(db, t.assignee).await?,
            created_at: t.created_at,
        });
    }
    let is_online = online(
        d.last_seen_at.map(|t| t.timestamp()),
        now.timestamp(),
        state.config.telemetry.online_secs,
    );
    Ok(DeviceDetail {
        device: device_view(d),
        online: is_online,
        warranty,
        subscriber,
        rollouts,
        open_tickets,
    })
}
