//! `GET /api/v1/audit`: read the audit log, newest first, with filters.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;

use crate::{
    http::params::limit,
    identity::{
        auth::{access, Auth},
        views::{AuditEntry, Page},
    },
    platform::{entities::audit_log, error::Result},
    state::AppState,
};

const DEFAULT_LIMIT: u64 = 100;
const MAX_LIMIT: u64 = 1000;

/// The query of `GET /api/v1/audit`: every filter optional, all must hold.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// Only entries with an id below this (the previous page's `next_before`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

/// `GET /api/v1/audit` (admins).
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "identity",
    params(AuditQuery),
    security(("operator" = [])),
    responses(
        (status = 200, description = "A page of entries, newest first", body = Page<AuditEntry>),
    )
)]
pub async fn list(
    _: Auth<access::Admin>,
    state: web::Data<AppState>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(entries(&state.db, q.into_inner()).await?))
}

/// The entries `q` selects, newest first, a page at a time.
pub async fn entries(
    db: &impl sea_orm::ConnectionTrait,
    q: AuditQuery,
) -> Result<Page<AuditEntry>> {
    let limit = limit(q.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let mut select = audit_log::Entity::find().order_by_desc(audit_log::Column::Id);
    if let Some(v) = q.actor {
        select = select.filter(audit_log::Column::ActorName.eq(v));
    }
    if let Some(v) = q.action {
        select = select.filter(audit_log::Column::Action.eq(v));
    }
    if let Some(v) = q.object_type {
        select = select.filter(audit_log::Column::ObjectType.eq(v));
    }
    if let Some(v) = q.object_id {
        select = select.filter(audit_log::Column::ObjectId.eq(v));
    }
    if let Some(v) = q.since {
        select = select.filter(audit_log::Column::At.gte(v));
    }
    if let Some(v) = q.until {
        select = select.filter(audit_log::Column::At.lt(v));
    }
    if let Some(v) = q.before {
        select = select.filter(audit_log::Column::Id.lt(v));
    }
    let rows = select.limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    let items: Vec<AuditEntry> = rows
        .into_iter()
        .take(limit as usize)
        .map(|m| AuditEntry {
            id: m.id,
            at: m.at,
            actor: m.actor_name,
            actor_id: m.actor_id,
            token_prefix: m.token_prefix,
            action: m.action,
            object_type: m.object_type,
            object_id: m.object_id,
            source_ip: m.source_ip,
            request_id: m.request_id,
            details: m.details,
        })
        .collect();
    let next_before = if more {
        items.last().map(|e| e.id)
    } else {
        None
    };
    Ok(Page { items, next_before })
}
