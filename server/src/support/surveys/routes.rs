//! The public survey page, `/survey/{token}`: the form a subscriber
//! reaches from the link in `survey.ready`, and its answer, once. No
//! account needed: the single-use token is the key.

use actix_web::{web, HttpResponse};

use super::{
    rules::{check_answer, SurveyAnswer},
    store::{record_answer, survey_of},
};
use crate::{
    platform::error::{Error, Result},
    state::AppState,
    support::tickets::store::find,
};

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /survey/{token}`: the public survey page (a form posting back).
pub async fn page(state: web::Data<AppState>, path: web::Path<String>) -> Result<HttpResponse> {
    let s = survey_of(&state.db, &path).await?;
    let t = find(&state.db, s.ticket_id).await?;
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

/// `POST /survey/{token}` (form or JSON): the answer, once.
pub async fn answer_page(
    state: web::Data<AppState>,
    path: web::Path<String>,
    answer: actix_web::Either<web::Json<SurveyAnswer>, web::Form<SurveyAnswer>>,
) -> Result<HttpResponse> {
    let (score, comment) = check_answer(answer.into_inner()).map_err(Error::Validation)?;
    let s = survey_of(&state.db, &path).await?;
    record_answer(
        &state.db,
        s,
        score,
        comment,
        "subscriber",
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Thank you</title></head><body><p>Thank you for your answer.</p></body></html>"))
}
