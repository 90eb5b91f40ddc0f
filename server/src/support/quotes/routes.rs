//! `POST /api/v1/tickets/{id}/quote` and `…/quote/answer` (support staff):
//! a paid-repair quote on a post-warranty ticket, and the subscriber's
//! answer given by phone or email. Subscribers answer through the
//! subscriber API.

use actix_web::{web, HttpResponse};
use sea_orm::TransactionTrait;
use wavecast_protocol::Problem;

use super::{
    rules::Quote,
    store::{answer_quote, propose as propose_quote},
};
use crate::support::{
    tickets::view::TicketView,
    views::{QuoteAnswer, QuoteBody},
};
use crate::{
    http::params::checked,
    identity::{
        auth::{access, Auth},
        caller::Caller,
        roles::Role,
    },
    platform::{
        error::{Error, Result},
        text::Paragraphs,
    },
    state::AppState,
    support::tickets::routes::{id_of, MAX_BODY},
};

/// `POST /api/v1/tickets/{id}/quote`: the ticket waits on the subscriber
/// meanwhile.
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/quote",
    tag = "support",
    params(("id" = String, Path, description = "Ticket number")),
    request_body = QuoteBody,
    security(("operator" = [])),
    responses(
        (status = 201, description = "The ticket with its quote, pending on the subscriber", body = TicketView),
        (status = 409, description = "Not a repair (post-warranty) ticket", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn propose(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<QuoteBody>,
) -> Result<HttpResponse> {
    let view = propose_by(&state, &auth, id_of(&path)?, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Proposes quote `b` on ticket `id` as `caller` (support staff).
pub async fn propose_by(
    state: &AppState,
    caller: &Caller,
    id: i64,
    b: QuoteBody,
) -> Result<TicketView> {
    caller.demand(Role::Support)?;
    let note = match &b.note {
        Some(n) => Some(checked(Paragraphs::parse("note", n, MAX_BODY))?.into_string()),
        None => None,
    };
    let now = state.clock.now();
    let quote = Quote::propose(b.amount_minor, &b.currency, note, &caller.name, now)
        .map_err(Error::Validation)?;
    state
        .db
        .transaction::<_, _, Error>(|txn| Box::pin(propose_quote(txn, id, quote, now)))
        .await
        .map_err(Error::from)
}

/// `POST /api/v1/tickets/{id}/quote/answer` (support staff, for an answer
/// given by phone or email).
#[utoipa::path(
    post,
    path = "/api/v1/tickets/{id}/quote/answer",
    tag = "support",
    params(("id" = String, Path, description = "Ticket number")),
    request_body = QuoteAnswer,
    security(("operator" = [])),
    responses(
        (status = 200, description = "The ticket with the answered quote", body = TicketView),
        (status = 409, description = "The ticket has no quote, or it was already answered", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn answer(
    auth: Auth<access::Support>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<QuoteAnswer>,
) -> Result<HttpResponse> {
    let view = answer_quote(
        &state.db,
        id_of(&path)?,
        body.accepted,
        auth.name.clone(),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(view))
}
