//! Signing in and out, and a user's own password. A password signs in; so
//! does the one-time bootstrap token, once, to set the first password.
//! Failed attempts are recorded per user name and per address and throttle
//! further ones. Signing in starts a fresh session (a new random id every
//! time); signing out and a password change end sessions.

use actix_web::{
    cookie::{time::Duration as CookieDuration, Cookie, SameSite},
    web, HttpRequest, HttpResponse,
};
use askama::Template;
use chrono::TimeDelta;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;

use super::{
    guard::{Posted, Signed, CONSOLE},
    page::{html_response, local_path, render, see_other, Failure, Section, Shell},
};
use crate::{
    http::peer::client_ip_text,
    identity::{
        audit::store::{self as audit, audited, Actor, Entry},
        auth::{access, authenticate},
        bootstrap,
        passwords::store as passwords,
        sessions::{
            rules::{self as session_rules, Lifetimes},
            store as sessions,
        },
    },
    platform::{
        entities::{api_token, user},
        error::Error,
    },
    state::AppState,
};

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    shell: Shell,
    next: String,
    name: String,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    why: Option<String>,
}

/// `GET /sign-in`
pub async fn page(q: web::Query<SignInQuery>) -> Result<HttpResponse, Failure> {
    render(&SignInPage {
        shell: Shell::new("Sign in", Section::Account),
        next: local_path(q.next.as_deref().unwrap_or("/")).to_owned(),
        name: String::new(),
        notice: q.why.clone(),
        error: None,
    })
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    name: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

fn lifetimes(state: &AppState) -> Lifetimes {
    let c = &state.config.console;
    Lifetimes {
        idle: TimeDelta::minutes(i64::from(c.idle_minutes.max(1))),
        absolute: TimeDelta::hours(i64::from(c.absolute_hours.max(1))),
    }
}

/// The session cookie for `secret` (or, empty, one that clears it).
fn cookie(state: &AppState, secret: &str) -> Cookie<'static> {
    let c = &state.config.console;
    let mut k = Cookie::build(session_rules::cookie_name(c.https), secret.to_owned())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(c.https)
        .finish();
    if secret.is_empty() {
        k.make_removal();
    } else {
        k.set_max_age(CookieDuration::hours(i64::from(c.absolute_hours.max(1))));
    }
    k
}

/// `POST /sign-in`
pub async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, Failure> {
    let f = form.into_inner();
    let next = local_path(f.next.as_deref().unwrap_or("/")).to_owned();
    let headers = req.headers();
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    if !session_rules::same_origin(header("sec-fetch-site"), header("origin"), header("host")) {
        return Err(Error::Forbidden("sign in from the console's own page".into()).into());
    }
    let cfg = &state.config.console;
    let now = state.clock.now();
    let ip = client_ip_text(&req, &state.config.http.trusted_proxies);
    let name = f.name.trim().to_owned();
    let keys = vec![
        format!("user:{name}"),
        format!("ip:{}", ip.as_deref().unwrap_or("-")),
    ];
    let window = now - TimeDelta::minutes(i64::from(cfg.sign_in_window_minutes.max(1)));
    let again = |msg: String, status| {
        let page = SignInPage {
            shell: Shell::new("Sign in", Section::Account),
            next: next.clone(),
            name: name.clone(),
            notice: None,
            error: Some(msg),
        };
        page.render()
            .map(|html| html_response(status, html))
            .map_err(|e| Failure::from(Error::Internal(anyhow::anyhow!("template: {e}"))))
    };
    if session_rules::throttled(
        sessions::failures_since(&state.db, &keys[0], window).await?,
        cfg.failures_per_user,
    ) || session_rules::throttled(
        sessions::failures_since(&state.db, &keys[1], window).await?,
        cfg.failures_per_address,
    ) {
        return again(
            format!(
                "Too many failed sign-ins: try again in {} minutes.",
                cfg.sign_in_window_minutes
            ),
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let found = user::Entity::find()
        .filter(user::Column::Name.eq(name.as_str()))
        .one(&state.db)
        .await?
        .filter(|u| !u.disabled);
    let mut bootstrap_used = None;
    let ok = match &found {
        // The one-time bootstrap token, once, for its own user.
        Some(u) if f.password.starts_with("wc_") => {
            match authenticate(&state, &f.password, ip.clone(), None).await {
                Ok(caller) if caller.user_id == u.id => {
                    let token = api_token::Entity::find_by_id(caller.token_id)
                        .one(&state.db)
                        .await?;
                    let ok = token.is_some_and(|t| t.bootstrap);
                    if ok {
                        bootstrap_used = Some(caller);
                    }
                    ok
                }
                _ => false,
            }
        }
        Some(u) => match &u.password_hash {
            Some(phc) => passwords::verify(f.password.clone(), phc.clone()).await,
            None => false,
        },
        None => false,
    };
    let Some(u) = found.filter(|_| ok) else {
        sessions::record_failure(&state.db, &keys, now).await?;
        return again(
            "Wrong user name or password.".into(),
            actix_web::http::StatusCode::UNAUTHORIZED,
        );
    };
    if let Some(caller) = &bootstrap_used {
        bootstrap::spend(&state.db, caller, now).await?;
    }
    let new = sessions::create(&state.db, u.id, ip.clone(), lifetimes(&state), now).await?;
    audit::write(
        &state.db,
        Actor {
            id: Some(u.id),
            name: &u.name,
            token_prefix: Some(CONSOLE),
            source_ip: ip.as_deref(),
            request_id: None,
        },
        now,
        Entry::new("session.start", "user", u.name.clone()),
    )
    .await?;
    let to = if u.password_hash.is_none() {
        "/account/password".to_owned()
    } else {
        next
    };
    let mut res = see_other(&to);
    res.add_cookie(&cookie(&state, &new.secret))
        .map_err(|e| Error::Internal(anyhow::anyhow!("cookie: {e}")))?;
    Ok(res)
}

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub struct Empty {}

/// `POST /sign-out`
pub async fn sign_out(
    posted: Posted<access::Viewer, Empty>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let s = &posted.signed;
    sessions::end(&state.db, &s.secret, state.clock.now()).await?;
    let mut res = see_other("/sign-in");
    res.add_cookie(&cookie(&state, ""))
        .map_err(|e| Error::Internal(anyhow::anyhow!("cookie: {e}")))?;
    Ok(res)
}

#[derive(Template)]
#[template(path = "console/password.html")]
struct PasswordPage {
    shell: Shell,
    first: bool,
    error: Option<String>,
}

/// `GET /account/password`
pub async fn password_page(signed: Signed<access::Viewer>) -> Result<HttpResponse, Failure> {
    render(&PasswordPage {
        shell: signed.shell("Your password", Section::Account),
        first: signed.user.password_hash.is_none(),
        error: None,
    })
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current: Option<String>,
    new: String,
    confirm: String,
}

/// What the audit log keeps of a password change: who set it.
#[derive(Debug, serde::Serialize)]
struct PasswordSet {
    by: &'static str,
}

/// `POST /account/password`: the user's own change. Every session of the
/// user ends, and this browser gets a fresh one.
pub async fn change_password(
    posted: Posted<access::Viewer, PasswordForm>,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let Posted { signed, form } = posted;
    let first = signed.user.password_hash.is_none();
    let fail = |msg: String| {
        let page = PasswordPage {
            shell: signed.shell("Your password", Section::Account),
            first,
            error: Some(msg),
        };
        page.render()
            .map(|html| html_response(actix_web::http::StatusCode::UNPROCESSABLE_ENTITY, html))
            .map_err(|e| Failure::from(Error::Internal(anyhow::anyhow!("template: {e}"))))
    };
    if let Some(phc) = &signed.user.password_hash {
        let current = form.current.clone().unwrap_or_default();
        if !passwords::verify(current, phc.clone()).await {
            return fail("The current password is wrong.".into());
        }
    }
    if form.new != form.confirm {
        return fail("The two new passwords differ.".into());
    }
    if let Err(Error::Validation(msg)) = passwords::checked(&form.new, &signed.user.name) {
        return fail(format!("{}.", capitalised(&msg)));
    }
    let phc = passwords::hash(form.new).await?;
    let now = state.clock.now();
    let u = signed.user.clone();
    let name = u.name.clone();
    audited(&state.db, &signed.caller, now, move |txn| {
        Box::pin(async move {
            passwords::set(txn, u, phc, now).await?;
            let entry =
                Entry::new("user.password", "user", name).details(&PasswordSet { by: "self" });
            Ok(((), entry))
        })
    })
    .await?;
    let ip = client_ip_text(&req, &state.config.http.trusted_proxies);
    let new = sessions::create(&state.db, signed.user.id, ip, lifetimes(&state), now).await?;
    let mut res = see_other("/");
    res.add_cookie(&cookie(&state, &new.secret))
        .map_err(|e| Error::Internal(anyhow::anyhow!("cookie: {e}")))?;
    Ok(res)
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
