//! The one mapping from errors to HTTP answers: every error is an RFC 9457
//! `application/problem+json` body with the right status; internal causes are
//! logged with their whole chain and never shown to the client.

use actix_web::{
    http::{header, StatusCode},
    HttpResponse, ResponseError,
};
use wavecast_protocol::{problem::PROBLEM_CONTENT_TYPE, Problem};

/// An error a handler returns.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No valid credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials, but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// The named object does not exist (or is not the caller's to see) (404).
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed: syntax, types, missing fields (400).
    #[error("{0}")]
    BadRequest(String),
    /// The request is well-formed but a value is not acceptable (422).
    #[error("{0}")]
    Validation(String),
    /// The request conflicts with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// The request body is larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// The caller is sending faster than its rate (429, with Retry-After).
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u32,
    },
    /// The server cannot take this now; try again later (503, with
    /// Retry-After).
    #[error("{detail}")]
    Unavailable {
        detail: String,
        retry_after_secs: u32,
    },
    /// Anything else. The cause is logged; the client sees a generic message.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A handler's result.
pub type ApiResult<T> = Result<T, ApiError>;

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        // A unique index refusing a write is a conflict with existing state
        // (e.g. two requests creating the same name at once), not a failure.
        if let Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) = e.sql_err() {
            return Self::Conflict("an object with the same unique name already exists".into());
        }
        Self::Internal(anyhow::Error::new(e).context("database error"))
    }
}

impl From<wavecast_protocol::TrustError> for ApiError {
    fn from(e: wavecast_protocol::TrustError) -> Self {
        Self::Validation(format!("bundle refused: {e}"))
    }
}

impl From<sea_orm::TransactionError<ApiError>> for ApiError {
    fn from(e: sea_orm::TransactionError<ApiError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(api) => api,
        }
    }
}

impl ApiError {
    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Self::Unauthorized(_) => ("unauthorized", "Authentication required"),
            Self::Forbidden(_) => ("forbidden", "Not allowed"),
            Self::NotFound(_) => ("not-found", "Not found"),
            Self::BadRequest(_) => ("bad-request", "Malformed request"),
            Self::Validation(_) => ("validation", "Invalid value"),
            Self::Conflict(_) => ("conflict", "Conflict"),
            Self::TooLarge(_) => ("too-large", "Request too large"),
            Self::TooManyRequests { .. } => ("too-many-requests", "Too many requests"),
            Self::Unavailable { .. } => ("unavailable", "Try again later"),
            Self::Internal(_) => ("internal", "Internal server error"),
        }
    }

    /// The problem body this error answers with.
    pub fn to_problem(&self) -> Problem {
        let (slug, title) = self.slug_and_title();
        let problem = Problem::new(slug, title, self.status_code().as_u16());
        match self {
            Self::Internal(_) => problem.with_detail(
                "the server failed to handle the request; the request id in the \
                 x-request-id header finds the cause in the server log",
            ),
            other => problem.with_detail(other.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(e) = self {
            tracing::error!(error = %format!("{e:#}"), "request failed");
        }
        let mut res = problem_response(&self.to_problem(), matches!(self, Self::Unauthorized(_)));
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

/// Turns actix's own extractor errors (bad JSON, bad query string, bad path)
/// into problem bodies with a message that names what was wrong.
pub fn json_error(err: actix_web::error::JsonPayloadError) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let api = match &err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => {
            ApiError::TooLarge(format!("request body too large: {err}"))
        }
        E::ContentType => ApiError::BadRequest(
            "expected a JSON body with content-type application/json".to_owned(),
        ),
        E::Deserialize(e) if e.is_data() => ApiError::Validation(format!("invalid JSON body: {e}")),
        _ => ApiError::BadRequest(format!("invalid JSON body: {err}")),
    };
    actix_web::error::InternalError::from_response(err, api.error_response()).into()
}

/// Query-string errors as problems.
pub fn query_error(err: actix_web::error::QueryPayloadError) -> actix_web::Error {
    let api = ApiError::BadRequest(format!("invalid query string: {err}"));
    actix_web::error::InternalError::from_response(err, api.error_response()).into()
}

/// Path-segment errors as problems.
pub fn path_error(err: actix_web::error::PathError) -> actix_web::Error {
    let api = ApiError::NotFound(format!("invalid path: {err}"));
    actix_web::error::InternalError::from_response(err, api.error_response()).into()
}

/// The answer for routes that do not exist.
pub async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    ApiError::NotFound(format!("no route for {} {}", req.method(), req.path())).error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_do_not_leak() {
        let e = ApiError::Internal(anyhow::anyhow!("password=hunter2 in a secret place"));
        let p = e.to_problem();
        assert_eq!(p.status, 500);
        assert!(!p.detail.unwrap_or_default().contains("hunter2"));
    }

    #[test]
    fn statuses_follow_the_kind() {
        assert_eq!(ApiError::NotFound("x".into()).to_problem().status, 404);
        assert_eq!(ApiError::Validation("x".into()).to_problem().status, 422);
        assert_eq!(ApiError::Conflict("x".into()).to_problem().status, 409);
        let p = ApiError::Forbidden("needs admin".into()).to_problem();
        assert_eq!((p.status, p.detail.as_deref()), (403, Some("needs admin")));
        assert_eq!(p.slug(), Some("forbidden"));
        let busy = ApiError::Unavailable {
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
