//! The subscriber API under `/api/v1/subscriber/`: what the operator's
//! mobile app or self-care portal calls for one subscriber (a `wcs_`
//! token): their boxes and their state, their tickets (public log only),
//! opening a ticket, commenting, answering a repair quote and a survey, and
//! the knowledge base. Every query is scoped by the token's subscriber;
//! another subscriber's box or ticket answers 404, the same as one that
//! does not exist. The public survey page is `console::survey`.

use actix_web::{web, HttpResponse};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait};
use serde::Deserialize;
use wavecast_protocol::Problem;

use crate::{
    fleet::{catalog::store as catalog, devices::store as devices},
    http::params::checked,
    platform::{
        entities::{survey, ticket},
        error::{Error, Result},
        text::{Line, Paragraphs},
    },
    state::AppState,
    support::{
        quotes::store::answer_quote,
        subscribers::{auth::SubscriberAuth, store::boxes_of},
        surveys::{
            rules::{check_answer, SurveyAnswer},
            store::record_answer,
        },
        tickets::{
            queue,
            routes::{id_of, MAX_BODY, MAX_SUBJECT},
            rules::{Channel, TicketKind},
            store::{self as tickets, NewTicket},
            view::summary,
        },
        views::{
            KbArticle, PendingSurvey, PublicLogEntry, SubscriberBox, SubscriberTicket,
            SubscriberTicketDetail,
        },
    },
};

/// How the log and webhooks name a subscriber acting for themselves.
fn author_of(auth: &SubscriberAuth) -> String {
    format!("subscriber:{}", auth.subscriber.account)
}

/// `GET /api/v1/subscriber/boxes`: the caller's boxes, their versions,
/// whether they are online, their warranty and open tickets.
#[utoipa::path(
    get,
    path = "/api/v1/subscriber/boxes",
    tag = "subscriber",
    security(("subscriber" = [])),
    responses(
        (status = 200, description = "The caller's boxes, in serial order", body = Vec<SubscriberBox>),
    )
)]
pub async fn boxes(auth: SubscriberAuth, state: web::Data<AppState>) -> Result<HttpResponse> {
    let out = boxes_of(
        &state.db,
        auth.subscriber.id,
        state.clock.now(),
        state.config.telemetry.online_secs,
    )
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// The caller's ticket `id`, or 404 (also for another subscriber's).
async fn own(
    db: &impl sea_orm::ConnectionTrait,
    auth: &SubscriberAuth,
    id: i64,
) -> Result<ticket::Model> {
    let t = tickets::find(db, id).await?;
    if t.subscriber_id != Some(auth.subscriber.id) {
        return Err(Error::NotFound(format!("no ticket {id}")));
    }
    Ok(t)
}

/// `GET /api/v1/subscriber/tickets`
#[utoipa::path(
    get,
    path = "/api/v1/subscriber/tickets",
    tag = "subscriber",
    security(("subscriber" = [])),
    responses(
        (status = 200, description = "The caller's tickets, newest first (at most 200)", body = Vec<SubscriberTicket>),
    )
)]
pub async fn list(auth: SubscriberAuth, state: web::Data<AppState>) -> Result<HttpResponse> {
    let (list, _) = queue::list(
        &state.db,
        &queue::Filter {
            subscriber_id: Some(auth.subscriber.id),
            ..queue::Filter::default()
        },
        queue::Page::newest(200),
        state.clock.now(),
    )
    .await?;
    let out: Vec<SubscriberTicket> = list.into_iter().map(SubscriberTicket::from).collect();
    Ok(HttpResponse::Ok().json(out))
}

/// `GET /api/v1/subscriber/tickets/{id}`: the ticket and its public log.
#[utoipa::path(
    get,
    path = "/api/v1/subscriber/tickets/{id}",
    tag = "subscriber",
    params(("id" = String, Path, description = "One of the caller's ticket numbers")),
    security(("subscriber" = [])),
    responses(
        (status = 200, description = "The ticket and its public log, oldest first", body = SubscriberTicketDetail),
    )
)]
pub async fn show(
    auth: SubscriberAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let t = own(&state.db, &auth, id_of(&path)?).await?;
    let view = summary(&state.db, &t, state.clock.now()).await?;
    let log = tickets::history(&state.db, t.id, true).await?;
    Ok(HttpResponse::Ok().json(SubscriberTicketDetail {
        ticket: view.into(),
        log: log
            .into_iter()
            .map(|l| PublicLogEntry {
                at: l.at,
                kind: l.kind,
                body: l.body,
                author: if l.author.starts_with("subscriber:") {
                    "you"
                } else {
                    "support"
                }
                .into(),
            })
            .collect(),
    }))
}

/// `POST /api/v1/subscriber/tickets`: a new support ticket.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    subject: String,
    body: String,
    /// One of the caller's boxes (id or serial).
    device: Option<String>,
    /// `app` or `portal` (default `app`).
    channel: Option<Channel>,
}

/// `POST /api/v1/subscriber/tickets`: a support ticket from the app or the
/// portal.
#[utoipa::path(
    post,
    path = "/api/v1/subscriber/tickets",
    tag = "subscriber",
    request_body = OpenBody,
    security(("subscriber" = [])),
    responses(
        (status = 201, description = "The new ticket", body = SubscriberTicket),
        (status = 404, description = "The box named is not one of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn open(
    auth: SubscriberAuth,
    state: web::Data<AppState>,
    body: web::Json<OpenBody>,
) -> Result<HttpResponse> {
    let b = body.into_inner();
    let subject = checked(Line::parse("subject", &b.subject, MAX_SUBJECT))?;
    let text = checked(Paragraphs::parse("body", &b.body, MAX_BODY))?;
    let channel = b.channel.unwrap_or(Channel::App);
    if !matches!(channel, Channel::App | Channel::Portal) {
        return Err(Error::Validation("channel must be app or portal".into()));
    }
    let device_id = match &b.device {
        Some(r) => {
            let d = devices::find(&state.db, r).await.ok();
            match d.filter(|d| d.subscriber_id == Some(auth.subscriber.id)) {
                Some(d) => Some(d.id),
                None => return Err(Error::NotFound(format!("no box {r:?} of yours"))),
            }
        }
        None => None,
    };
    let (sub_id, author) = (auth.subscriber.id, author_of(&auth));
    let now = state.clock.now();
    let view = state
        .db
        .transaction::<_, _, Error>(|txn| {
            Box::pin(async move {
                let t = tickets::open(
                    txn,
                    NewTicket::from_channel(
                        TicketKind::Support,
                        channel,
                        subject.into_string(),
                        Some(sub_id),
                        device_id,
                        author,
                        Some(text.into_string()),
                    ),
                    now,
                )
                .await?;
                summary(txn, &t, now).await
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(SubscriberTicket::from(view)))
}

/// `POST /api/v1/subscriber/tickets/{id}/comments`: a reply.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    body: String,
}

/// `POST /api/v1/subscriber/tickets/{id}/comments`: a reply; a ticket
/// waiting on the subscriber goes back to support.
#[utoipa::path(
    post,
    path = "/api/v1/subscriber/tickets/{id}/comments",
    tag = "subscriber",
    params(("id" = String, Path, description = "One of the caller's ticket numbers")),
    request_body = CommentBody,
    security(("subscriber" = [])),
    responses(
        (status = 201, description = "The ticket after the reply", body = SubscriberTicket),
        (status = 409, description = "The ticket is closed", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn comment(
    auth: SubscriberAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<CommentBody>,
) -> Result<HttpResponse> {
    let t = own(&state.db, &auth, id_of(&path)?).await?;
    let text = checked(Paragraphs::parse("body", &body.body, MAX_BODY))?.into_string();
    let author = author_of(&auth);
    let now = state.clock.now();
    let view = state
        .db
        .transaction::<_, _, Error>(|txn| {
            Box::pin(async move {
                let t = tickets::comment(txn, t.id, &author, false, true, text, now).await?;
                summary(txn, &t, now).await
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(SubscriberTicket::from(view)))
}

/// `POST /api/v1/subscriber/tickets/{id}/quote`: accept or decline.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = SubscriberQuoteAnswer)]
#[serde(deny_unknown_fields)]
pub struct QuoteAnswer {
    accepted: bool,
}

/// `POST /api/v1/subscriber/tickets/{id}/quote`: accept or decline a
/// repair quote.
#[utoipa::path(
    post,
    path = "/api/v1/subscriber/tickets/{id}/quote",
    tag = "subscriber",
    params(("id" = String, Path, description = "One of the caller's ticket numbers")),
    request_body = QuoteAnswer,
    security(("subscriber" = [])),
    responses(
        (status = 200, description = "The ticket after the answer", body = SubscriberTicket),
        (status = 409, description = "The ticket has no quote, or it was answered already", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn quote(
    auth: SubscriberAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<QuoteAnswer>,
) -> Result<HttpResponse> {
    let t = own(&state.db, &auth, id_of(&path)?).await?;
    let view = answer_quote(
        &state.db,
        t.id,
        body.accepted,
        author_of(&auth),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(SubscriberTicket::from(view)))
}

/// `GET /api/v1/subscriber/kb`: every knowledge-base article (code, title,
/// article).
#[utoipa::path(
    get,
    path = "/api/v1/subscriber/kb",
    tag = "subscriber",
    security(("subscriber" = [])),
    responses(
        (status = 200, description = "Every knowledge-base article", body = Vec<KbArticle>),
    )
)]
pub async fn kb(_: SubscriberAuth, state: web::Data<AppState>) -> Result<HttpResponse> {
    let all: Vec<KbArticle> = catalog::list(&state.db)
        .await?
        .into_iter()
        .map(|e| e.entry.into())
        .collect();
    Ok(HttpResponse::Ok().json(all))
}

/// `GET /api/v1/subscriber/kb/{code}`
#[utoipa::path(
    get,
    path = "/api/v1/subscriber/kb/{code}",
    tag = "subscriber",
    params(("code" = String, Path, description = "A fault code")),
    security(("subscriber" = [])),
    responses(
        (status = 200, description = "The knowledge-base article for the fault code", body = KbArticle),
    )
)]
pub async fn kb_article(
    _: SubscriberAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    let e = catalog::get(&state.db, &path)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no article for {}", path.as_str())))?;
    Ok(HttpResponse::Ok().json(KbArticle::from(e.entry)))
}

/// `GET /api/v1/subscriber/surveys`: the caller's surveys not answered yet.
#[utoipa::path(
    get,
    path = "/api/v1/subscriber/surveys",
    tag = "subscriber",
    security(("subscriber" = [])),
    responses(
        (status = 200, description = "The caller's surveys not answered yet, by ticket number", body = Vec<PendingSurvey>),
    )
)]
pub async fn surveys(auth: SubscriberAuth, state: web::Data<AppState>) -> Result<HttpResponse> {
    let mine: std::collections::HashMap<i64, String> = ticket::Entity::find()
        .filter(ticket::Column::SubscriberId.eq(auth.subscriber.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.subject))
        .collect();
    let pending: Vec<PendingSurvey> = survey::Entity::find()
        .filter(survey::Column::TicketId.is_in(mine.keys().copied()))
        .filter(survey::Column::AnsweredAt.is_null())
        .order_by_asc(survey::Column::TicketId)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|s| PendingSurvey {
            ticket_id: s.ticket_id,
            subject: mine.get(&s.ticket_id).cloned(),
            since: s.created_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(pending))
}

/// `POST /api/v1/subscriber/tickets/{id}/survey`: the caller answers the
/// survey of their ticket (once), as the public page would.
#[utoipa::path(
    post,
    path = "/api/v1/subscriber/tickets/{id}/survey",
    tag = "subscriber",
    params(("id" = String, Path, description = "One of the caller's ticket numbers")),
    request_body = SurveyAnswer,
    security(("subscriber" = [])),
    responses(
        (status = 204, description = "The answer is recorded"),
        (status = 409, description = "The survey was answered already", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn answer_survey(
    auth: SubscriberAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SurveyAnswer>,
) -> Result<HttpResponse> {
    let t = own(&state.db, &auth, id_of(&path)?).await?;
    let (score, comment) = check_answer(body.into_inner()).map_err(Error::Validation)?;
    let s = survey::Entity::find_by_id(t.id)
        .one(&state.db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("ticket {} has no survey (yet)", t.id)))?;
    record_answer(
        &state.db,
        s,
        score,
        comment,
        &author_of(&auth),
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
