//! Who is behind a console request, and whether they may do it:
//! [`Signed`] loads the session the cookie names (a missing or ended one
//! sends the browser to the sign-in page), demands the role the REST route
//! demands (403 otherwise: hiding a button is cosmetic, the server
//! refuses), and, for an unsafe method, checks that the request comes from
//! the console's own pages (`Sec-Fetch-Site`/`Origin`) and carries the
//! session's CSRF token in the `X-CSRF-Token` header. [`Posted`] does the
//! same for an HTML form, taking the token from the header or the form's
//! `csrf` field, and parses the form.

use std::{future::Future, marker::PhantomData, pin::Pin};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpMessage, HttpRequest};
use chrono::TimeDelta;
use futures_util::StreamExt as _;
use serde::de::DeserializeOwned;
use tracing_actix_web::RequestId;
use uuid::Uuid;

use super::page::{Failure, Section, Shell};
use crate::{
    http::peer::client_ip_text,
    identity::{
        auth::Permission,
        caller::Caller,
        sessions::{rules, store as sessions},
    },
    platform::{entities::user, error::Error},
    state::AppState,
};

/// What the audit log records as the "token" of a console action.
pub const CONSOLE: &str = "console";

/// Largest console form body.
const FORM_LIMIT: usize = 256 * 1024;

/// A signed-in user whose role grants `P`.
#[derive(Debug)]
pub struct Signed<P: Permission> {
    pub caller: Caller,
    pub user: user::Model,
    pub csrf: String,
    /// The cookie's secret (to sign out).
    pub secret: String,
    pub poll_ms: u64,
    _p: PhantomData<P>,
}

impl<P: Permission> Signed<P> {
    /// The shell of a page for this user.
    pub fn shell(&self, title: impl Into<String>, section: Section) -> Shell {
        let mut s = Shell::new(title, section);
        s.user = Some((self.user.name.clone(), self.user.role));
        s.csrf = self.csrf.clone();
        s.poll_ms = self.poll_ms;
        s
    }
}

impl<P: Permission> std::ops::Deref for Signed<P> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

fn unsafe_method(req: &HttpRequest) -> bool {
    !matches!(
        *req.method(),
        actix_web::http::Method::GET | actix_web::http::Method::HEAD
    )
}

fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The session cookie's secret.
pub fn cookie_secret(req: &HttpRequest, https: bool) -> Option<String> {
    req.cookie(rules::cookie_name(https))
        .map(|c| c.value().to_owned())
}

/// Loads the session and checks role and origin; the CSRF token is the
/// caller's to check.
async fn load<P: Permission>(req: &HttpRequest) -> Result<(Signed<P>, Option<String>), Failure> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("application state is not configured")))?;
    let cfg = &state.config.console;
    let next = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let sign_in = |why| Failure::SignIn {
        next: if unsafe_method(req) {
            "/".to_owned()
        } else {
            next.clone()
        },
        why,
    };
    let Some(secret) = cookie_secret(req, cfg.https) else {
        return Err(sign_in(None));
    };
    let now = state.clock.now();
    let idle = TimeDelta::minutes(i64::from(cfg.idle_minutes.max(1)));
    let (session, user) = match sessions::find(&state.db, &secret, idle, now).await? {
        Ok(found) => found,
        Err(why) => return Err(sign_in(Some(why.describe()))),
    };
    if unsafe_method(req)
        && !rules::same_origin(
            header_str(req, "sec-fetch-site"),
            header_str(req, "origin"),
            header_str(req, "host"),
        )
    {
        return Err(Error::Forbidden(
            "this request did not come from the console's own pages".into(),
        )
        .into());
    }
    if user.password_hash.is_none()
        && req.path() != "/account/password"
        && req.path() != "/sign-out"
    {
        return Err(Failure::SetPassword);
    }
    let caller = Caller {
        user_id: user.id,
        name: user.name.clone(),
        role: user.role,
        token_id: Uuid::nil(),
        token_prefix: CONSOLE.to_owned(),
        source_ip: client_ip_text(req, &state.config.http.trusted_proxies),
        request_id: req.extensions().get::<RequestId>().map(|r| r.to_string()),
    };
    caller.demand(P::REQUIRED)?;
    let sent = header_str(req, "x-csrf-token").map(str::to_owned);
    Ok((
        Signed {
            caller,
            user,
            csrf: session.csrf,
            secret,
            poll_ms: cfg.poll_millis.max(100),
            _p: PhantomData,
        },
        sent,
    ))
}

fn csrf_refused() -> Failure {
    Error::Forbidden("the form's security token is missing or stale; reload the page".into()).into()
}

impl<P: Permission + 'static> FromRequest for Signed<P> {
    type Error = Failure;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Failure>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let (signed, sent) = load::<P>(&req).await?;
            if unsafe_method(&req) && !sent.is_some_and(|t| rules::csrf_matches(&signed.csrf, &t)) {
                return Err(csrf_refused());
            }
            Ok(signed)
        })
    }
}

/// A form posted by a signed-in user whose role grants `P`, its CSRF token
/// checked, parsed as `T`.
#[derive(Debug)]
pub struct Posted<P: Permission, T> {
    pub signed: Signed<P>,
    pub form: T,
}

impl<P: Permission + 'static, T: DeserializeOwned + 'static> FromRequest for Posted<P, T> {
    type Error = Failure;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Failure>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let (signed, sent) = load::<P>(&req).await?;
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk =
                    chunk.map_err(|e| Error::BadRequest(format!("reading the form: {e}")))?;
                if body.len() + chunk.len() > FORM_LIMIT {
                    return Err(Error::TooLarge("the form is too large".into()).into());
                }
                body.extend_from_slice(&chunk);
            }
            let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                .map_err(|e| Error::BadRequest(format!("the form could not be read: {e}")))?;
            let token = sent.or_else(|| {
                fields
                    .iter()
                    .find(|(k, _)| k == "csrf")
                    .map(|(_, v)| v.clone())
            });
            if !token.is_some_and(|t| rules::csrf_matches(&signed.csrf, &t)) {
                return Err(csrf_refused());
            }
            // Repeated fields (check boxes) read into lists.
            let form: T = serde_html_form::from_bytes(&body)
                .map_err(|e| Error::Validation(format!("the form: {e}")))?;
            Ok(Posted { signed, form })
        })
    }
}

/// The request's `Host` (for redirects and origin checks in handlers).
pub fn host(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
