//! The request span and the one log line a refused or failed request
//! leaves. Every request runs in a small span (method, route pattern,
//! request id) so a handler's own log lines say which request they belong
//! to; an answer of 400 or above adds one line with the status and the
//! problem's detail, and nothing else (an internal error's cause is logged
//! once, where `http::problem` maps it).

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    Error, HttpMessage,
};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

/// The [`RootSpanBuilder`] of the server's `TracingLogger`.
#[derive(Debug)]
pub struct Requests;

impl RootSpanBuilder for Requests {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let route = request.match_pattern();
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = route.as_deref().unwrap_or_else(|| request.path()),
            request_id = %id,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, error) = match outcome {
            Ok(res) => (res.status(), res.response().error()),
            Err(e) => (e.as_response_error().status_code(), Some(e)),
        };
        let _in = span.enter();
        // An internal error's cause is logged where it is mapped, once.
        let internal = error
            .and_then(|e| e.as_error::<crate::platform::error::Error>())
            .is_some_and(|e| matches!(e, crate::platform::error::Error::Internal(_)));
        let detail = match error {
            Some(_) if internal => "internal error (cause logged above)".to_owned(),
            Some(e) => e.to_string(),
            None => String::new(),
        };
        let status = status.as_u16();
        if status >= 500 {
            tracing::warn!(status, detail, "request failed");
        } else if status >= 400 {
            tracing::info!(status, detail, "request refused");
        }
    }
}
