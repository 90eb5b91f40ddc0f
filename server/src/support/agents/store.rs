//! Support agents at the SQL edge: who a new ticket goes to (the VIP's
//! dedicated agent, else round-robin among agents on shift for its queue,
//! by the rule `support::tickets::rules::assignee`).

use chrono::{DateTime, Utc};
use sea_orm::{sea_query::Expr, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::{
    identity::users::store::name_of,
    platform::{entities::support_agent, error::Result, json::from_json},
    support::{
        tickets::rules::{self as rules, TicketKind},
        views::AgentView,
    },
};

/// Every support agent: their queues, whether they are on shift, their
/// last round-robin turn.
pub async fn agent_views(db: &impl ConnectionTrait) -> Result<Vec<AgentView>> {
    let agents = support_agent::Entity::find().all(db).await?;
    let mut out = Vec::with_capacity(agents.len());
    for a in agents {
        out.push(AgentView {
            user: name_of(db, Some(a.user_id)).await?,
            queues: from_json(&a.queues, "agent queues")?,
            on_shift: a.on_shift,
            last_assigned_at: a.last_assigned_at,
        });
    }
    Ok(out)
}

/// The agent a new ticket of `kind` goes to, noting the round-robin turn.
pub async fn pick_assignee(
    db: &impl ConnectionTrait,
    dedicated: Option<Uuid>,
    kind: TicketKind,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>> {
    if dedicated.is_some() {
        return Ok(dedicated);
    }
    let on_shift: Vec<(Uuid, Option<DateTime<Utc>>)> = support_agent::Entity::find()
        .filter(support_agent::Column::OnShift.eq(true))
        .all(db)
        .await?
        .into_iter()
        .filter(|a| {
            from_json::<Vec<TicketKind>>(&a.queues, "agent queues").is_ok_and(|q| q.contains(&kind))
        })
        .map(|a| (a.user_id, a.last_assigned_at))
        .collect();
    let chosen = rules::assignee(None, &on_shift);
    if let Some(id) = chosen {
        support_agent::Entity::update_many()
            .col_expr(support_agent::Column::LastAssignedAt, Expr::value(now))
            .filter(support_agent::Column::UserId.eq(id))
            .exec(db)
            .await?;
    }
    Ok(chosen)
}
