//! What wraps every request: its id returned in `x-request-id`, its count
//! and duration in the server's metrics (by route pattern, never the raw
//! path, so the labels stay bounded), and the refusal of bodies declared
//! in a character set other than UTF-8.

use std::time::Instant;

use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{HeaderName, HeaderValue},
    middleware::Next,
    web, HttpMessage,
};
use tracing_actix_web::RequestId;

use crate::{platform::error::Error, state::AppState};

const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Copies the request id that `TracingLogger` assigned into the response.
pub async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    let mut res = next.call(req).await?;
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(res)
}

/// Counts and times every answered request.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    // Any token is a valid method: only the standard ones become labels.
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS") => m,
        _ => "OTHER",
    }
    .to_owned();
    let route = req.match_pattern().unwrap_or_else(|| "(none)".to_owned());
    let res = next.call(req).await?;
    if let Some(m) = metrics {
        m.request(
            method,
            route,
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
    }
    Ok(res)
}

/// Whether a body declared with content type `mime` is refused for its
/// character set: every text body the server reads (JSON, CSV, forms) is
/// UTF-8, so another declared charset (a check-in sent as UTF-16, say) is
/// refused rather than misread. US-ASCII is a subset and is read.
pub fn foreign_charset(mime: &actix_web::mime::Mime) -> Option<String> {
    let charset = mime.get_param(actix_web::mime::CHARSET)?;
    let c = charset.as_str();
    (!c.eq_ignore_ascii_case("utf-8") && !c.eq_ignore_ascii_case("us-ascii")).then(|| c.to_owned())
}

/// Answers 415 before any handler reads a body declared in a character
/// set other than UTF-8 ([`foreign_charset`]).
pub async fn utf8_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let foreign = req
        .mime_type()
        .ok()
        .flatten()
        .and_then(|m| foreign_charset(&m));
    if let Some(charset) = foreign {
        let res = actix_web::ResponseError::error_response(&Error::UnsupportedMediaType(format!(
            "the body is declared as {charset}: this server reads text and JSON in UTF-8 only"
        )));
        return Ok(req.into_response(res).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::foreign_charset;

    #[test]
    fn bodies_are_read_in_utf8_only() {
        let refused = |t: &str| foreign_charset(&t.parse().expect("mime"));
        assert_eq!(refused("application/json"), None);
        assert_eq!(refused("application/json; charset=UTF-8"), None);
        assert_eq!(refused("text/csv; charset=us-ascii"), None);
        assert_eq!(
            refused("application/json; charset=utf-16").as_deref(),
            Some("utf-16")
        );
        assert!(refused("text/csv; charset=latin1").is_some());
    }
}
