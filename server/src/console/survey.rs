//! The public survey page, `/survey/{token}`: the form a subscriber
//! reaches from the link in `survey.ready`, and its answer, once. No
//! account needed: the single-use token is the key. Rendered through the
//! console's templates, readable on a phone.

use actix_web::{http::StatusCode, web, HttpResponse};
use askama::Template;

use super::{assets, page::html_response};
use crate::{
    platform::error::{Error, Result},
    state::AppState,
    support::{
        surveys::{
            rules::{check_answer, SurveyAnswer},
            store::{record_answer, survey_of},
        },
        tickets::store::find,
    },
};

/// The survey page, through the console's templates (HTML-escaped by
/// askama), readable on a phone.
#[derive(Template)]
#[template(path = "console/survey.html")]
struct SurveyPage {
    css: String,
    id: i64,
    subject: String,
    answered: bool,
    thanks: bool,
}

fn survey_page(id: i64, subject: String, answered: bool, thanks: bool) -> Result<HttpResponse> {
    let page = SurveyPage {
        css: assets::url("app.css"),
        id,
        subject,
        answered,
        thanks,
    };
    let html = page
        .render()
        .map_err(|e| Error::Internal(anyhow::anyhow!("template: {e}")))?;
    Ok(html_response(StatusCode::OK, html))
}

/// `GET /survey/{token}`: the public survey page (a form posting back).
pub async fn page(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse> {
    let s = survey_of(&state.db, &path).await?;
    let t = find(&state.db, s.ticket_id).await?;
    survey_page(t.id, t.subject, s.answered_at.is_some(), false)
}

/// `POST /survey/{token}` (form or JSON): the answer, once.
pub async fn answer_page(
    state: web::Data<AppState>,
    path: web::Path<String>,
    answer: actix_web::Either<web::Json<SurveyAnswer>, web::Form<SurveyAnswer>>,
) -> Result<HttpResponse> {
    let (score, comment) = check_answer(answer.into_inner()).map_err(Error::Validation)?;
    let s = survey_of(&state.db, &path).await?;
    let ticket_id = s.ticket_id;
    record_answer(
        &state.db,
        s,
        score,
        comment,
        "subscriber",
        state.clock.now(),
    )
    .await?;
    let t = find(&state.db, ticket_id).await?;
    survey_page(t.id, t.subject, true, true)
}
