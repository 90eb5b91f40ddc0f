//! `/api/v1/support-agents`: which queues a support user works and whether
//! they are on shift now (round-robin assignment picks among them).

use actix_web::{web, HttpResponse};
use sea_orm::{sea_query::OnConflict, EntityTrait, Set};

use super::store::agent_views;
use crate::support::views::{AgentBody, AgentView};
use crate::{
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
        caller::Caller,
        roles::Role,
        users::store::find_by_name,
    },
    platform::{entities::support_agent, error::Result, json::to_json},
    state::AppState,
    support::subscribers::store::works_tickets,
};

/// `PUT /api/v1/support-agents/{user}` (support staff).
#[utoipa::path(
    put,
    path = "/api/v1/support-agents/{name}",
    tag = "support",
    params(("name" = String, Path, description = "The support user's name")),
    request_body = AgentBody,
    security(("operator" = [])),
    responses(
        (status = 204, description = "The agent's queues and shift were set"),
    )
)]
pub async fn put(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<AgentBody>,
) -> Result<HttpResponse> {
    put_agent(&state, &auth, path.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sets the queues support user `name` works and whether they are on
/// shift, for `caller` (support staff), audited.
pub async fn put_agent(
    state: &AppState,
    caller: &Caller,
    name: String,
    b: AgentBody,
) -> Result<()> {
    caller.demand(Role::Support)?;
    let u = find_by_name(&state.db, &name).await?;
    works_tickets(&u, "user")?;
    let id = u.id;
    audited(&state.db, caller, state.clock.now(), move |txn| {
        Box::pin(async move {
            support_agent::Entity::insert(support_agent::ActiveModel {
                user_id: Set(id),
                queues: Set(to_json(&b.queues)?),
                on_shift: Set(b.on_shift),
                last_assigned_at: Set(None),
            })
            .on_conflict(
                OnConflict::column(support_agent::Column::UserId)
                    .update_columns([
                        support_agent::Column::Queues,
                        support_agent::Column::OnShift,
                    ])
                    .to_owned(),
            )
            .exec(txn)
            .await?;
            Ok(((), Entry::new("agent.put", "user", name).details(&b)))
        })
    })
    .await
}

/// `GET /api/v1/support-agents`
#[utoipa::path(
    get,
    path = "/api/v1/support-agents",
    tag = "support",
    security(("operator" = [])),
    responses(
        (status = 200, description = "Every support agent with their queues and shift", body = Vec<AgentView>),
    )
)]
pub async fn list(_: Auth<access::Viewer>, state: web::Data<AppState>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(agent_views(&state.db).await?))
}
