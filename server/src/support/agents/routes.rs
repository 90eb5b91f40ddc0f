//! `/api/v1/support-agents`: which queues a support user works and whether
//! they are on shift now (round-robin assignment picks among them).

use actix_web::{web, HttpResponse};
use sea_orm::{sea_query::OnConflict, EntityTrait, Set};

use crate::support::views::AgentBody;
use crate::{
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
        users::store::{find_by_name, name_of},
    },
    platform::{
        entities::support_agent,
        error::Result,
        json::{from_json, to_json},
    },
    state::AppState,
    support::{subscribers::store::works_tickets, views::AgentView},
};

/// `PUT /api/v1/support-agents/{user}` (support staff).
pub async fn put(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<AgentBody>,
) -> Result<HttpResponse> {
    let name = path.into_inner();
    let u = find_by_name(&state.db, &name).await?;
    works_tickets(&u, "user")?;
    let id = u.id;
    let b = body.into_inner();
    audited(&state.db, &auth, state.clock.now(), move |txn| {
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
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/support-agents`
pub async fn list(_: Auth<access::Viewer>, state: web::Data<AppState>) -> Result<HttpResponse> {
    let agents = support_agent::Entity::find().all(&state.db).await?;
    let mut out = Vec::new();
    for a in agents {
        out.push(AgentView {
            user: name_of(&state.db, Some(a.user_id)).await?,
            queues: from_json(&a.queues, "agent queues")?,
            on_shift: a.on_shift,
            last_assigned_at: a.last_assigned_at,
        });
    }
    Ok(HttpResponse::Ok().json(out))
}
