//! `GET` and `HEAD /api/v1/artifacts/{sha256}`: artifact downloads with
//! `Range` (206, 416), `If-Range`, `If-None-Match` and the digest as `ETag`,
//! streamed from the blob store.
//!
//! Authorisation is [`DownloadAccess`]: a management token of any role
//! (any artifact), or an accepted box's device credential (artifacts of
//! published and deprecated bundles only).

use actix_web::{
    http::{header, Method, StatusCode},
    web, HttpRequest, HttpResponse,
};
use futures_util::stream;
use wavecast_protocol::{Problem, Sha256Digest};

use crate::{
    fleet::devices::auth::DirectoryAuth,
    identity::{
        auth::{access, bearer, Auth},
        tokens::rules::{prefix_in, Scheme},
    },
    platform::error::{Error, Result},
    state::AppState,
};

/// Who may download artifacts: anyone with a management role, or a box.
#[derive(Debug)]
pub enum DownloadAccess {
    Operator(Auth<access::Viewer>),
    Device(DirectoryAuth),
}

impl actix_web::FromRequest for DownloadAccess {
    type Error = Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let is_device = bearer(req).is_ok_and(|t| prefix_in(Scheme::Device, &t).is_some());
        if is_device {
            // Boxes are found in the device directory: no database read.
            let f = DirectoryAuth::from_request(req, payload);
            Box::pin(async move { f.await.map(DownloadAccess::Device) })
        } else {
            let f = Auth::<access::Viewer>::from_request(req, payload);
            Box::pin(async move { f.await.map(DownloadAccess::Operator) })
        }
    }
}

fn etag(digest: &Sha256Digest) -> String {
    format!("\"sha256:{digest}\"")
}

/// Which bytes to send, from the request's conditional and range headers.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    NotModified,
    Full,
    Partial(u64, u64),
    Unsatisfiable,
}

fn plan(req: &HttpRequest, tag: &str, size: u64) -> Plan {
    let h = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    if let Some(inm) = h(header::IF_NONE_MATCH) {
        if inm.split(',').any(|t| t.trim() == tag || t.trim() == "*") {
            return Plan::NotModified;
        }
    }
    let Some(range) = h(header::RANGE) else {
        return Plan::Full;
    };
    // If-Range with another validator: the client's partial copy is stale.
    if h(header::IF_RANGE).is_some_and(|v| v.trim() != tag) {
        return Plan::Full;
    }
    let parsed = match http_range_header::parse_range_header(range) {
        Ok(parsed) => parsed,
        // `bytes=-0` is well-formed, but a suffix of no bytes selects
        // nothing: unsatisfiable (RFC 9110 §14.1.1), not the whole file.
        Err(http_range_header::RangeUnsatisfiableError::ZeroSuffix) => return Plan::Unsatisfiable,
        // A malformed Range header is ignored (RFC 9110 §14.2).
        Err(_) => return Plan::Full,
    };
    match parsed.validate(size) {
        Ok(ranges) if ranges.len() == 1 => Plan::Partial(*ranges[0].start(), *ranges[0].end()),
        // Several ranges: send the whole blob rather than multipart.
        Ok(_) => Plan::Full,
        Err(_) => Plan::Unsatisfiable,
    }
}

/// An artifact's bytes (or the requested range of them).
#[derive(Debug, utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ArtifactBytes(pub Vec<u8>);

/// `GET|HEAD /api/v1/artifacts/{sha256}`
#[utoipa::path(
    get,
    path = "/api/v1/artifacts/{sha256}",
    tag = "device",
    params(
        ("sha256" = String, Path, description = "The artifact's SHA-256 (64 hex characters)"),
        ("Range" = Option<String>, Header, description = "One byte range (`bytes=0-1023`, `bytes=-512`); \
                                                          several ranges get the whole artifact"),
        ("If-Range" = Option<String>, Header, description = "The entity tag the partial copy has: \
                                                             another one gets the whole artifact"),
        ("If-None-Match" = Option<String>, Header, description = "Entity tags held: the artifact's gets 304"),
    ),
    security(("operator" = []), ("device" = [])),
    responses(
        (status = 200, description = "The whole artifact", body = ArtifactBytes,
         content_type = "application/octet-stream",
         headers(
             ("ETag" = String, description = "`\"sha256:<digest>\"`"),
             ("Accept-Ranges" = String, description = "`bytes`"),
             ("Cache-Control" = String, description = "Immutable: the digest names the content"),
         )),
        (status = 206, description = "The requested range", body = ArtifactBytes,
         content_type = "application/octet-stream",
         headers(
             ("Content-Range" = String, description = "`bytes <first>-<last>/<size>`"),
             ("ETag" = String, description = "`\"sha256:<digest>\"`"),
             ("Accept-Ranges" = String, description = "`bytes`"),
             ("Cache-Control" = String, description = "Immutable: the digest names the content"),
         )),
        (status = 304, description = "If-None-Match names the artifact's entity tag: no body",
         headers(("ETag" = String, description = "`\"sha256:<digest>\"`"))),
        (status = 416, description = "The range is outside the artifact", body = Problem,
         content_type = "application/problem+json",
         headers(("Content-Range" = String, description = "`bytes */<size>`"))),
    )
)]
pub async fn download(
    who: DownloadAccess,
    state: web::Data<AppState>,
    req: HttpRequest,
    digest: web::Path<String>,
) -> Result<HttpResponse> {
    match &who {
        DownloadAccess::Operator(a) => tracing::Span::current().record("user", a.name.as_str()),
        DownloadAccess::Device(d) => {
            tracing::Span::current().record("user", d.0.id.to_string().as_str())
        }
    };
    let not_found = || Error::NotFound(format!("no artifact with SHA-256 {digest}"));
    let digest = Sha256Digest::parse(&digest).map_err(|_| not_found())?;
    // A box gets only what may be offered to it: a staged bundle's
    // artifacts are not released yet, a revoked one's never again. It is
    // told "not found", as for a digest nobody uploaded.
    if matches!(who, DownloadAccess::Device(_))
        && !state.downloadable().await?.contains(&digest.to_string())
    {
        return Err(not_found());
    }
    serve_blob(&state, &req, &digest).await
}

/// Answers `req` with blob `digest`: whole, a range (206), 304 or 416, as
/// its headers ask; the body is left out for `HEAD`. The caller has decided
/// the asker may have it.
pub async fn serve_blob(
    state: &AppState,
    req: &HttpRequest,
    digest: &Sha256Digest,
) -> Result<HttpResponse> {
    let not_found = || Error::NotFound(format!("no artifact with SHA-256 {digest}"));
    // The store is the index: a blob exists only once an upload carrying it
    // was verified and recorded (refused uploads remove theirs), so no
    // database lookup is needed on this hot path.
    let size = state
        .blobs
        .size(digest)
        .await
        .map_err(|e| Error::Internal(e.into()))?
        .ok_or_else(not_found)?;
    let tag = etag(digest);
    let (status, start, end) = match plan(req, &tag, size) {
        Plan::NotModified => {
            return Ok(HttpResponse::NotModified()
                .insert_header((header::ETAG, tag))
                .finish())
        }
        Plan::Unsatisfiable => {
            let mut res = crate::http::problem::problem_response(
                &wavecast_protocol::Problem::new(
                    "range-not-satisfiable",
                    "Range not satisfiable",
                    StatusCode::RANGE_NOT_SATISFIABLE.as_u16(),
                )
                .with_detail(format!("the range is outside the artifact's {size} bytes")),
                false,
            );
            res.headers_mut().insert(
                header::CONTENT_RANGE,
                header::HeaderValue::from_str(&format!("bytes */{size}"))
                    .map_err(|e| Error::Internal(e.into()))?,
            );
            return Ok(res);
        }
        Plan::Full => (StatusCode::OK, 0, size),
        Plan::Partial(first, last) => (StatusCode::PARTIAL_CONTENT, first, last + 1),
    };
    let mut res = HttpResponse::build(status);
    res.insert_header((header::ETAG, tag))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        ))
        .content_type("application/octet-stream");
    if status == StatusCode::PARTIAL_CONTENT {
        res.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{size}", end - 1),
        ));
    }
    let len = end - start;
    // For HEAD actix sends the head only, taking Content-Length from the body's size.
    let body = if len == 0 || req.method() == Method::HEAD {
        Box::pin(stream::empty()) as crate::platform::blobs::ByteStream
    } else {
        state
            .blobs
            .read(digest, start..end)
            .await
            .map_err(|e| Error::Internal(e.into()))?
    };
    Ok(res.body(actix_web::body::SizedStream::new(len, body)))
}

/// `HEAD /api/v1/artifacts/{sha256}`: a download's headers (size,
/// entity tag, ranges) without its body.
#[utoipa::path(
    head,
    path = "/api/v1/artifacts/{sha256}",
    tag = "device",
    params(
        ("sha256" = String, Path, description = "The artifact's SHA-256 (64 hex characters)"),
        ("Range" = Option<String>, Header, description = "One byte range (`bytes=0-1023`, `bytes=-512`); \
                                                          several ranges get the whole artifact"),
        ("If-Range" = Option<String>, Header, description = "The entity tag the partial copy has: \
                                                             another one gets the whole artifact"),
        ("If-None-Match" = Option<String>, Header, description = "Entity tags held: the artifact's gets 304"),
    ),
    security(("operator" = []), ("device" = [])),
    responses(
        (status = 200, description = "The whole artifact's headers; no body",
         headers(
             ("Content-Length" = u64, description = "The artifact's size in bytes"),
             ("ETag" = String, description = "`\"sha256:<digest>\"`"),
             ("Accept-Ranges" = String, description = "`bytes`"),
             ("Cache-Control" = String, description = "Immutable: the digest names the content"),
         )),
        (status = 206, description = "The requested range's headers; no body",
         headers(
             ("Content-Length" = u64, description = "The range's size in bytes"),
             ("Content-Range" = String, description = "`bytes <first>-<last>/<size>`"),
             ("ETag" = String, description = "`\"sha256:<digest>\"`"),
             ("Accept-Ranges" = String, description = "`bytes`"),
             ("Cache-Control" = String, description = "Immutable: the digest names the content"),
         )),
        (status = 304, description = "If-None-Match names the artifact's entity tag; no body",
         headers(("ETag" = String, description = "`\"sha256:<digest>\"`"))),
        (status = 416, description = "The range is outside the artifact; no body",
         headers(("Content-Range" = String, description = "`bytes */<size>`"))),
    )
)]
pub async fn probe(
    who: DownloadAccess,
    state: web::Data<AppState>,
    req: HttpRequest,
    digest: web::Path<String>,
) -> Result<HttpResponse> {
    download(who, state, req, digest).await
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::{plan, Plan};

    fn ranged(range: &str) -> Plan {
        let req = TestRequest::get()
            .insert_header(("range", range))
            .to_http_request();
        plan(&req, "\"t\"", 100)
    }

    #[test]
    fn ranges_are_served_refused_or_ignored_as_rfc_9110_says() {
        assert_eq!(ranged("bytes=0-9"), Plan::Partial(0, 9));
        assert_eq!(ranged("bytes=-10"), Plan::Partial(90, 99));
        assert_eq!(ranged("bytes=-0"), Plan::Unsatisfiable);
        assert_eq!(ranged("bytes=200-"), Plan::Unsatisfiable);
        assert_eq!(ranged("lines=1-2"), Plan::Full, "not a byte range: ignored");
        assert_eq!(ranged("bytes=x-y"), Plan::Full, "malformed: ignored");
    }
}
