//! Satisfaction surveys at the SQL edge: sending the ones that are due
//! ([`send_due`], from the SLA sweep), finding one by its single-use link,
//! and recording its answer once ([`record_answer`], for the public page
//! and the subscriber API alike).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    sea_query::{Expr, Query},
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use serde::Serialize;

use crate::{
    identity::tokens::rules::{self as token, Scheme},
    platform::{
        config::TicketsConfig,
        entities::{survey, ticket},
        error::{Error, Result},
    },
    support::{
        tickets::{
            rules::{self as rules, Channel, LogKind, TicketStatus},
            store::{find, log, LogEntry, SYSTEM},
            view::{summary, TicketView},
        },
        webhooks::{outbox, rules::WebhookEvent},
    },
};

/// What `survey.ready` carries: the ticket and the survey's link.
#[derive(Debug, Serialize)]
struct Ready {
    ticket: TicketView,
    survey_url: String,
}

/// What `survey.answered` carries.
#[derive(Debug, Serialize)]
struct Answered {
    ticket: TicketView,
    score: i32,
}

/// The log's record of an answer.
#[derive(Debug, Serialize)]
struct Score {
    score: i32,
}

/// Creates the satisfaction surveys that are due at `now` (resolved
/// tickets of subscribers; for a device fault, once the box has reported
/// no fault of it for `tickets.survey_quiet_secs`) and announces each with
/// `survey.ready` and its single-use link; returns how many.
pub async fn send_due(
    db: &DatabaseConnection,
    cfg: &TicketsConfig,
    now: DateTime<Utc>,
) -> Result<u64> {
    // Resolved tickets of the last 30 days without a survey yet, in one
    // query: those surveyed drop out, so this reads the tickets still
    // waiting for theirs (a device fault's quiet time), not every ticket
    // resolved in the month.
    let surveyed = Query::select()
        .expr(Expr::val(1))
        .from(survey::Entity)
        .and_where(
            Expr::col((survey::Entity, survey::Column::TicketId))
                .equals((ticket::Entity, ticket::Column::Id)),
        )
        .to_owned();
    let resolved = ticket::Entity::find()
        .filter(ticket::Column::Status.is_in([TicketStatus::Resolved, TicketStatus::Closed]))
        .filter(ticket::Column::SubscriberId.is_not_null())
        .filter(ticket::Column::ResolvedAt.gte(now - Duration::days(30)))
        .filter(Expr::exists(surveyed).not())
        .all(db)
        .await?;
    let quiet = Duration::seconds(i64::try_from(cfg.survey_quiet_secs).unwrap_or(i64::MAX / 2));
    let mut n = 0;
    for t in resolved {
        let Some(resolved_at) = t.resolved_at else {
            continue;
        };
        let device_fault = t.channel == Channel::Device;
        if !rules::survey_due(device_fault, resolved_at, t.last_fault_at, quiet, now) {
            continue;
        }
        let secret = token::generate_in(Scheme::Survey);
        let txn = db.begin().await?;
        survey::Entity::insert(survey::ActiveModel {
            ticket_id: Set(t.id),
            prefix: Set(secret.prefix.clone()),
            secret_hash: Set(secret.hash),
            created_at: Set(now),
            answered_at: Set(None),
            score: Set(None),
            comment: Set(None),
        })
        .exec(&txn)
        .await?;
        let link = format!(
            "{}/survey/{}",
            cfg.public_url.trim_end_matches('/'),
            secret.plaintext
        );
        log(&txn, t.id, LogEntry::new(LogKind::SurveySent, SYSTEM), now).await?;
        let ready = Ready {
            ticket: summary(&txn, &t, now).await?,
            survey_url: link,
        };
        outbox::enqueue(&txn, WebhookEvent::SurveyReady, &ready, now).await?;
        txn.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// The survey a presented link names, if it is one.
pub async fn survey_of(
    db: &impl sea_orm::ConnectionTrait,
    presented: &str,
) -> Result<survey::Model> {
    let missing = || Error::NotFound("no such survey".to_owned());
    let prefix = token::prefix_in(Scheme::Survey, presented).ok_or_else(missing)?;
    survey::Entity::find()
        .filter(survey::Column::Prefix.eq(prefix))
        .one(db)
        .await?
        .filter(|s| token::matches(presented, &s.secret_hash))
        .ok_or_else(missing)
}

/// Records a survey's answer, once; `author` names who answered in the
/// ticket's log.
pub async fn record_answer(
    db: &sea_orm::DatabaseConnection,
    s: survey::Model,
    score: i32,
    comment: Option<String>,
    author: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    if s.answered_at.is_some() {
        return Err(Error::Conflict(
            "this survey has already been answered".into(),
        ));
    }
    let ticket_id = s.ticket_id;
    let author = author.to_owned();
    db.transaction::<_, _, Error>(|txn| {
        Box::pin(async move {
            let mut m: survey::ActiveModel = s.into();
            m.answered_at = Set(Some(now));
            m.score = Set(Some(score));
            m.comment = Set(comment.clone());
            m.update(txn).await?;
            let entry = LogEntry::new(LogKind::SurveyAnswer, &author)
                .body(comment)
                .data(&Score { score });
            log(txn, ticket_id, entry, now).await?;
            let t = find(txn, ticket_id).await?;
            let answered = Answered {
                ticket: summary(txn, &t, now).await?,
                score,
            };
            outbox::enqueue(txn, WebhookEvent::SurveyAnswered, &answered, now).await
        })
    })
    .await?;
    Ok(())
}
