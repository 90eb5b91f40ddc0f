//! `POST /api/v1/tickets/{id}/rma` (support staff): a warranty return —
//! repair, or replace the box with an enrolled one, which takes over the
//! subscriber, the warranty start and the tickets.

use actix_web::{web, HttpResponse};
use wavecast_protocol::Problem;

use super::{
    rules::{may_return, Replacement, Rma, RmaAction, RmaRefusal},
    store::{record, replace},
};
use crate::support::{tickets::view::TicketView, views::RmaBody};
use crate::{
    fleet::devices::store as devices,
    http::params::checked,
    identity::{
        audit::store::{audited, Entry},
        auth::{access, Auth},
        caller::Caller,
        roles::Role,
    },
    platform::{
        error::{Error, Result},
        text::Paragraphs,
    },
    state::AppState,
    support::tickets::{
        routes::{id_of, MAX_BODY},
        store as tickets,
    },
};

/// `POST /api/v1/tickets/{id}/rma` (support staff, warranty tickets).
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/rma",
    tag = "support",
    params(("id" = String, Path, description = "Ticket number")),
    request_body = RmaBody,
    security(("operator" = [])),
    responses(
        (status = 200, description = "The ticket with the return recorded", body = TicketView),
        (status = 409, description = "Not a warranty ticket, no box on the ticket, or the replacement already belongs to a subscriber", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rma(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<RmaBody>,
) -> Result<HttpResponse> {
    let view = return_box(&state, &auth, id_of(&path)?, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Records warranty return `b` on ticket `id` as `caller` (support staff):
/// a repair, or the replacement taking over the subscriber, the warranty
/// start and the tickets; audited.
pub async fn return_box(
    state: &AppState,
    caller: &Caller,
    id: i64,
    b: RmaBody,
) -> Result<TicketView> {
    caller.demand(Role::Support)?;
    let t = tickets::find(&state.db, id).await?;
    let (action, note, new) = match b {
        RmaBody::Repair { note } => (RmaAction::Repair, note, None),
        RmaBody::Replace { replacement, note } => (
            RmaAction::Replace,
            note,
            Some(devices::find(&state.db, &replacement).await?),
        ),
    };
    let note = match note {
        Some(n) => Some(checked(Paragraphs::parse("note", &n, MAX_BODY))?.into_string()),
        None => None,
    };
    let old_id = may_return(
        t.kind,
        t.device_id,
        new.as_ref().map(|n| (n.id, n.subscriber_id.is_some())),
    )
    .map_err(|refusal| match refusal {
        RmaRefusal::Conflict(m) => Error::Conflict(format!("ticket {id}: {m}")),
        RmaRefusal::Invalid(m) => Error::Validation(m),
    })?;
    let now = state.clock.now();
    let record_ = Rma {
        action,
        note,
        by: caller.name.clone(),
        at: now,
        replacement: new.as_ref().map(|n| Replacement {
            id: n.id,
            serial: n.serial.clone(),
        }),
        licences_moved: 0,
    };
    let (view, retired) = audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            let mut record_ = record_;
            let retired = match &new {
                Some(n) => {
                    let (old, moved) = replace(txn, old_id, n.id, now).await?;
                    record_.licences_moved = moved;
                    Some(old)
                }
                None => None,
            };
            let view = record(txn, t, &record_, now).await?;
            let entry = Entry::new("ticket.rma", "ticket", id.to_string()).details(&record_);
            Ok(((view, retired), entry))
        })
    })
    .await?;
    if let Some(old) = retired {
        state.directory.put(&old);
        state.mqtt.remove_device(old.id);
        state.caches.licensed.invalidate();
    }
    Ok(view)
}
