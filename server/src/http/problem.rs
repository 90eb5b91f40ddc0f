//! The one mapping from the server's errors to HTTP answers: every error is
//! an RFC 9457 `application/problem+json` body with the right status;
//! internal causes are logged with their whole chain and never shown to
//! the client. Also actix's own extractor errors (bad JSON, query, path)
//! and unknown routes, as problems.

use actix_web::{
    http::{header, StatusCode},
    HttpResponse, ResponseError,
};
use wavecast_protocol::{problem::PROBLEM_CONTENT_TYPE, Problem};

use crate::platform::error::Error;

/// The problem type slug and title of `e`.
pub fn slug_and_title(e: &Error) -> (&'static str, &'static str) {
    match e {
        Error::Unauthorized(_) => ("unauthorized", "Authentication required"),
        Error::Forbidden(_) => ("forbidden", "Not allowed"),
        Error::NotFound(_) => ("not-found", "Not found"),
        Error::BadRequest(_) => ("bad-request", "Malformed request"),
        Error::Validation(_) => ("validation", "Invalid value"),
        Error::Conflict(_) => ("conflict", "Conflict"),
        Error::Gone(_) => ("gone", "Gone"),
        Error::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
        Error::TooLarge(_) => ("too-large", "Request too large"),
        Error::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
        Error::Unavailable { .. } => ("unavailable", "Try again later"),
        Error::Internal(_) => ("internal", "Internal server error"),
    }
}

/// The HTTP status `e` answers with (the console shows the same).
pub fn status_of(e: &Error) -> StatusCode {
    match e {
        Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        Error::Forbidden(_) => StatusCode::FORBIDDEN,
        Error::NotFound(_) => StatusCode::NOT_FOUND,
        Error::BadRequest(_) => StatusCode::BAD_REQUEST,
        Error::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Gone(_) => StatusCode::GONE,
        Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        Error::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The problem body `e` answers with.
pub fn to_problem(e: &Error) -> Problem {
    let (slug, title) = slug_and_title(e);
    let problem = Problem::new(slug, title, status_of(e).as_u16());
    match e {
        Error::Internal(_) => problem.with_detail(
            "the server failed to handle the request; the request id in the \
             x-request-id header finds the cause in the server log",
        ),
        other => problem.with_detail(other.to_string()),
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        status_of(self)
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(e) = self {
            tracing::error!(error = %format!("{e:#}"), "request failed");
        }
        let mut res = problem_response(&to_problem(self), matches!(self, Self::Unauthorized(_)));
        if let Self::TooManyRequests {
            retry_after_secs, ..
        }
        | Self::Unavailable {
            retry_after_secs, ..
        } = self
        {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(*retry_after_secs),
            );
        }
        res
    }
}

/// Renders a problem as an HTTP response.
pub fn problem_response(problem: &Problem, challenge: bool) -> HttpResponse {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE));
    if challenge {
        builder.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"wavecast\""));
    }
    builder.body(serde_json::to_string(problem).unwrap_or_default())
}

/// Turns actix's JSON extractor errors into problems naming what was wrong.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let api = match &err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => {
            Error::TooLarge(format!("request body too large: {err}"))
        }
        E::ContentType => Error::UnsupportedMediaType(
            "expected a JSON body with content-type application/json".to_owned(),
        ),
        E::Deserialize(e) if e.is_data() => Error::Validation(format!("invalid JSON body: {e}")),
        _ => Error::BadRequest(format!("invalid JSON body: {err}")),
    };
    actix_web::error::InternalError::from_response(err, api.error_response()).into()
}

/// Query-string errors as problems.
pub fn query_error(err: actix_web::error::QueryPayloadError) -> actix_web::Error {
    let api = Error::BadRequest(format!("invalid query string: {err}"));
    actix_web::error::InternalError::from_response(err, api.error_response()).into()
}

/// Path-segment errors as problems.
pub fn path_error(err: actix_web::error::PathError) -> actix_web::Error {
    let api = Error::NotFound(format!("invalid path: {err}"));
    actix_web::error::InternalError::from_response(err, api.error_response()).into()
}

/// The answer for a method a route does not take.
pub async fn method_not_allowed(req: actix_web::HttpRequest) -> HttpResponse {
    problem_response(
        &Problem::new("method-not-allowed", "Method not allowed", 405).with_detail(format!(
            "{} does not take {}",
            req.path(),
            req.method()
        )),
        false,
    )
}

/// The answer for routes that do not exist.
pub async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    Error::NotFound(format!("no route for {} {}", req.method(), req.path())).error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak() {
        let e = Error::Internal(anyhow::anyhow!("password=hunter2 in a secret place"));
        let p = to_problem(&e);
        assert_eq!(p.status, 500);
        assert!(!p.detail.unwrap_or_default().contains("hunter2"));
    }

    #[test]
    fn statuses_follow_the_kind() {
        assert_eq!(to_problem(&Error::NotFound("x".into())).status, 404);
        assert_eq!(to_problem(&Error::Validation("x".into())).status, 422);
        assert_eq!(to_problem(&Error::Conflict("x".into())).status, 409);
        assert_eq!(to_problem(&Error::Gone("x".into())).status, 410);
        let p = to_problem(&Error::Forbidden("needs admin".into()));
        assert_eq!((p.status, p.detail.as_deref()), (403, Some("needs admin")));
        assert_eq!(p.slug(), Some("forbidden"));
        let busy = Error::Unavailable {
            detail: "busy".into(),
            retry_after_secs: 5,
        }
        .error_response();
        assert_eq!(busy.status(), 503);
        assert_eq!(
            busy.headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.as_bytes()),
            Some(&b"5"[..])
        );
    }
}
