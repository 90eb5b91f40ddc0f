//! The subscriber API under `/api/v1/subscriber/`: what the operator's
//! mobile app or self-care portal calls for one subscriber (a `wcs_`
//! token): their boxes and their state, their tickets (public log only),
//! opening a ticket, commenting, answering a repair quote and a survey, and
//! the knowledge base. Every query is scoped by the token's subscriber; another
//! subscriber's box or ticket answers 404, the same as one that does not
//! exist. Also the public survey page `/survey/{token}` (single use).

use actix_web::{web, HttpResponse};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use serde::Deserialize;

use crate::{
    auth::SubscriberAuth,
    catalog,
    domain::{
        fleet::online,
        tickets::{Channel, TicketKind},
        token::{self, Scheme},
    },
    entities::{device, survey, ticket},
    error::{ApiError, ApiResult},
    state::AppState,
    tickets::{self, NewTicket, TicketView},
};

use super::tickets::{check_text, id_of, MAX_BODY};

/// `GET /api/v1/subscriber/boxes`: the caller's boxes, their versions,
/// whether they are online, their warranty and open tickets.
pub async fn boxes(auth: SubscriberAuth, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let now = Utc::now();
    let rows = device::Entity::find()
        .filter(device::Column::SubscriberId.eq(auth.subscriber.id))
        .all(&state.db)
        .await?;
    let mut out = Vec::new();
    for d in rows {
        let w = tickets::warranty_of(&state.db, &d, now).await?;
        let open = ticket::Entity::find()
            .filter(ticket::Column::DeviceId.eq(d.id))
            .filter(ticket::Column::SubscriberId.eq(auth.subscriber.id))
            .filter(ticket::Column::Status.is_in(tickets::ACTIVE))
            .count(&state.db)
            .await?;
        let last_seen = d.last_seen_at.map(|t| t.timestamp());
        out.push(serde_json::json!({
            "id": d.id,
            "serial": d.serial,
            "model": d.model,
            "installed": d.installed,
            "online": online(last_seen, now.timestamp(), state.config.telemetry.online_secs),
            "last_seen_at": d.last_seen_at,
            "activated_at": d.activated_at,
            "warranty": w,
            "open_tickets": open,
        }));
    }
    Ok(HttpResponse::Ok().json(out))
}

/// What a subscriber sees of a ticket: no internal assignee details.
fn for_subscriber(t: TicketView) -> serde_json::Value {
    serde_json::json!({
        "id": t.id, "kind": t.kind, "status": t.status, "subject": t.subject,
        "channel": t.channel, "device_id": t.device_id, "fault_code": t.fault_code,
        "created_at": t.created_at, "updated_at": t.updated_at,
        "first_response_at": t.first_response_at, "resolved_at": t.resolved_at,
        "quote": t.quote, "rma": t.rma,
    })
}

/// The caller's ticket `id`, or 404 (also for another subscriber's).
async fn own(
    db: &impl sea_orm::ConnectionTrait,
    auth: &SubscriberAuth,
    id: i64,
) -> ApiResult<crate::entities::ticket::Model> {
    let t = tickets::find(db, id).await?;
    if t.subscriber_id != Some(auth.subscriber.id) {
        return Err(ApiError::NotFound(format!("no ticket {id}")));
    }
    Ok(t)
}

/// `GET /api/v1/subscriber/tickets`
pub async fn list(auth: SubscriberAuth, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let list = tickets::list(
        &state.db,
        tickets::Filter {
            subscriber_id: Some(auth.subscriber.id),
            ..tickets::Filter::default()
        },
        200,
    )
    .await?;
    Ok(HttpResponse::Ok().json(list.into_iter().map(for_subscriber).collect::<Vec<_>>()))
}

/// `GET /api/v1/subscriber/tickets/{id}`: the ticket and its public log.
pub async fn show(
    auth: SubscriberAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let t = own(&state.db, &auth, id_of(&path)?).await?;
    let view = tickets::summary(&state.db, &t).await?;
    let log = tickets::history(&state.db, t.id, true).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "ticket": for_subscriber(view),
        "log": log.into_iter().map(|l| serde_json::json!({
            "at": l.at, "kind": l.kind, "body": l.body,
            "author": if l.author.starts_with("subscriber:") { "you" } else { "support" },
        })).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize)]
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
pub async fn open(
    auth: SubscriberAuth,
    state: web::Data<AppState>,
    body: web::Json<OpenBody>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    check_text("subject", &b.subject, 200)?;
    check_text("body", &b.body, MAX_BODY)?;
    let channel = b.channel.unwrap_or(Channel::App);
    if !matches!(channel, Channel::App | Channel::Portal) {
        return Err(ApiError::Validation("channel must be app or portal".into()));
    }
    let device_id = match &b.device {
        Some(r) => {
            let d = super::devices::find(&state, r).await.ok();
            match d.filter(|d| d.subscriber_id == Some(auth.subscriber.id)) {
                Some(d) => Some(d.id),
                None => return Err(ApiError::NotFound(format!("no box {r:?} of yours"))),
            }
        }
        None => None,
    };
    let sub = auth.subscriber.clone();
    let view = state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let t = tickets::open(
                    txn,
                    NewTicket::from_channel(
                        TicketKind::Support,
                        channel,
                        b.subject,
                        Some(sub.id),
                        device_id,
                        format!("subscriber:{}", sub.account),
                        Some(b.body),
                    ),
                )
                .await?;
                tickets::summary(txn, &t).await
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(for_subscriber(view)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    body: String,
}

/// `POST /api/v1/subscriber/tickets/{id}/comments`: a reply; a ticket
/// waiting on the subscriber goes back to support.
pub async fn comment(
    auth: SubscriberAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<CommentBody>,
) -> ApiResult<HttpResponse> {
    let t = own(&state.db, &auth, id_of(&path)?).await?;
    check_text("body", &body.body, MAX_BODY)?;
    let author = format!("subscriber:{}", auth.subscriber.account);
    let text = body.into_inner().body;
    let view = state
        .db
        .transaction::<_, _, ApiError>(|txn| {
            Box::pin(async move {
                let t = tickets::comment(txn, t.id, &author, false, true, text).await?;
                tickets::summary(txn, &t).await
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(for_subscriber(view)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteAnswer {
    accepted: bool,
}

/// `POST /api/v1/subscriber/tickets/{id}/quote`: accept or decline a
/// repair quote.
pub async fn quote(
    auth: SubscriberAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<QuoteAnswer>,
) -> ApiResult<HttpResponse> {
    let t = own(&state.db, &auth, id_of(&path)?).await?;
    let view = super::tickets::answer_quote(
        &state.db,
        t.id,
        body.accepted,
        format!("subscriber:{}", auth.subscriber.account),
    )
    .await?;
    Ok(HttpResponse::Ok().json(for_subscriber(view)))
}

/// `GET /api/v1/subscriber/kb`: every knowledge-base article (code, title,
/// article).
pub async fn kb(_: SubscriberAuth, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let all = catalog::list(&state.db).await?;
    Ok(HttpResponse::Ok().json(
        all.into_iter()
            .map(|e| serde_json::json!({ "code": e.entry.code, "title": e.entry.title, "article": e.entry.kb }))
            .collect::<Vec<_>>(),
    ))
}

/// `GET /api/v1/subscriber/kb/{code}`
pub async fn kb_article(
    _: SubscriberAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let e = catalog::get(&state.db, &path)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no article for {}", path.as_str())))?;
    Ok(HttpResponse::Ok().json(
        serde_json::json!({ "code": e.entry.code, "title": e.entry.title, "article": e.entry.kb }),
    ))
}

/// The survey a presented link names, if it is one.
async fn survey_of(
    db: &impl sea_orm::ConnectionTrait,
    presented: &str,
) -> ApiResult<survey::Model> {
    let missing = || ApiError::NotFound("no such survey".to_owned());
    let prefix = token::prefix_in(Scheme::Survey, presented).ok_or_else(missing)?;
    survey::Entity::find()
        .filter(survey::Column::Prefix.eq(prefix))
        .one(db)
        .await?
        .filter(|s| token::matches(presented, &s.secret_hash))
        .ok_or_else(missing)
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /survey/{token}`: the public survey page (a form posting back).
pub async fn survey_page(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let s = survey_of(&state.db, &path).await?;
    let t = tickets::find(&state.db, s.ticket_id).await?;
    let body = if s.answered_at.is_some() {
        "<p>Thank you: this survey has been answered.</p>".to_owned()
    } else {
        let radios: String = (1..=5)
            .map(|n| {
                format!(
                    r#"<label><input type="radio" name="score" value="{n}" required> {n}</label> "#
                )
            })
            .collect();
        format!(
            r#"<p>How satisfied are you with how we handled “{}”?</p>
<form method="post"><p>{radios}</p>
<p><label>Comment<br><textarea name="comment" maxlength="2000" rows="4" cols="50"></textarea></label></p>
<p><button type="submit">Send</button></p></form>"#,
            esc(&t.subject)
        )
    };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Your opinion</title></head><body><h1>Ticket {}</h1>{body}</body></html>",
            t.id
        )))
}

/// Records a survey's answer, once; `author` names who answered in the
/// ticket's log.
async fn record_answer(
    db: &sea_orm::DatabaseConnection,
    s: survey::Model,
    score: i32,
    comment: Option<String>,
    author: &str,
) -> ApiResult<()> {
    if s.answered_at.is_some() {
        return Err(ApiError::Conflict(
            "this survey has already been answered".into(),
        ));
    }
    let ticket_id = s.ticket_id;
    let author = author.to_owned();
    db.transaction::<_, _, ApiError>(|txn| {
        Box::pin(async move {
            let mut m: survey::ActiveModel = s.into();
            m.answered_at = Set(Some(Utc::now()));
            m.score = Set(Some(score));
            m.comment = Set(comment.clone());
            m.update(txn).await?;
            tickets::log(
                txn,
                ticket_id,
                "survey_answer",
                &author,
                false,
                comment,
                Some(serde_json::json!({ "score": score })),
            )
            .await?;
            let t = tickets::find(txn, ticket_id).await?;
            crate::webhooks::enqueue(
                txn,
                "survey.answered",
                &serde_json::json!({ "ticket": tickets::summary(txn, &t).await?, "score": score }),
            )
            .await
        })
    })
    .await?;
    Ok(())
}

/// Checks an answer's score and comment; returns the comment kept.
fn check_answer(a: SurveyAnswer) -> ApiResult<(i32, Option<String>)> {
    if !(1..=5).contains(&a.score) {
        return Err(ApiError::Validation("score must be between 1 and 5".into()));
    }
    let comment = a.comment.filter(|c| !c.trim().is_empty());
    if let Some(c) = &comment {
        check_text("comment", c, 2000)?;
    }
    Ok((a.score, comment))
}

/// `GET /api/v1/subscriber/surveys`: the caller's surveys not answered yet.
pub async fn surveys(auth: SubscriberAuth, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let mine: std::collections::HashMap<i64, String> = ticket::Entity::find()
        .filter(ticket::Column::SubscriberId.eq(auth.subscriber.id))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.subject))
        .collect();
    let pending = survey::Entity::find()
        .filter(survey::Column::TicketId.is_in(mine.keys().copied()))
        .filter(survey::Column::AnsweredAt.is_null())
        .order_by_asc(survey::Column::TicketId)
        .all(&state.db)
        .await?;
    Ok(HttpResponse::Ok().json(
        pending
            .into_iter()
            .map(|s| {
                serde_json::json!({
                    "ticket_id": s.ticket_id, "subject": mine.get(&s.ticket_id), "since": s.created_at,
                })
            })
            .collect::<Vec<_>>(),
    ))
}

/// `POST /api/v1/subscriber/tickets/{id}/survey`: the caller answers the
/// survey of their ticket (once), as the public page would.
pub async fn answer_survey(
    auth: SubscriberAuth,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SurveyAnswer>,
) -> ApiResult<HttpResponse> {
    let t = own(&state.db, &auth, id_of(&path)?).await?;
    let (score, comment) = check_answer(body.into_inner())?;
    let s = survey::Entity::find_by_id(t.id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("ticket {} has no survey (yet)", t.id)))?;
    record_answer(
        &state.db,
        s,
        score,
        comment,
        &format!("subscriber:{}", auth.subscriber.account),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyAnswer {
    score: i32,
    #[serde(default)]
    comment: Option<String>,
}

/// `POST /survey/{token}` (form or JSON): the answer, once.
pub async fn survey_answer(
    state: web::Data<AppState>,
    path: web::Path<String>,
    answer: actix_web::Either<web::Json<SurveyAnswer>, web::Form<SurveyAnswer>>,
) -> ApiResult<HttpResponse> {
    let (score, comment) = check_answer(answer.into_inner())?;
    let s = survey_of(&state.db, &path).await?;
    record_answer(&state.db, s, score, comment, "subscriber").await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Thank you</title></head><body><p>Thank you for your answer.</p></body></html>"))
}
