//! What every console page shares: the shell (who is signed in, the CSRF
//! token, the navigation, the asset URLs, the poll interval), rendering a
//! template with the console's headers (a strict Content-Security-Policy,
//! `no-store`, `nosniff`), and failures as HTML pages: a sign-in redirect
//! for a missing session, otherwise the error's status and message.

use actix_web::{
    http::{header, StatusCode},
    HttpResponse, ResponseError,
};
use askama::Template;

use super::assets;
use crate::{
    http::problem::{slug_and_title, status_of},
    identity::roles::Role,
    platform::error::Error,
};

/// The console's Content-Security-Policy: nothing but our own files; no
/// inline script or style, no framing.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The sections of the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Devices,
    Bundles,
    Rollouts,
    Problems,
    Tickets,
    Subscribers,
    Licences,
    Reports,
    Settings,
    Admin,
    Account,
}

/// The page around the content: who is signed in and what they may do.
#[derive(Debug, Clone)]
pub struct Shell {
    pub title: String,
    pub section: Section,
    /// The signed-in user's name and role, if any.
    pub user: Option<(String, Role)>,
    pub csrf: String,
    pub poll_ms: u64,
    pub css: String,
    pub uplot_css: String,
    pub htmx: String,
    pub uplot: String,
    pub app: String,
}

impl Shell {
    pub fn new(title: impl Into<String>, section: Section) -> Self {
        Self {
            title: title.into(),
            section,
            user: None,
            csrf: String::new(),
            poll_ms: 3000,
            css: assets::url("app.css"),
            uplot_css: assets::url("uPlot.min.css"),
            htmx: assets::url("htmx.min.js"),
            uplot: assets::url("uPlot.iife.min.js"),
            app: assets::url("app.js"),
        }
    }

    /// `aria-current="page"` for the section shown.
    pub fn current(&self, section: &str) -> &'static str {
        let s = match self.section {
            Section::Overview => "overview",
            Section::Devices => "devices",
            Section::Bundles => "bundles",
            Section::Rollouts => "rollouts",
            Section::Problems => "problems",
            Section::Tickets => "tickets",
            Section::Subscribers => "subscribers",
            Section::Licences => "licences",
            Section::Reports => "reports",
            Section::Settings => "settings",
            Section::Admin => "admin",
            Section::Account => "account",
        };
        if s == section {
            "page"
        } else {
            "false"
        }
    }

    fn grants(&self, role: Role) -> bool {
        self.user.as_ref().is_some_and(|(_, r)| r.grants(role))
    }

    /// The controls an operator uses are shown (the server refuses anyway).
    pub fn operator(&self) -> bool {
        self.grants(Role::Operator)
    }

    pub fn admin(&self) -> bool {
        self.grants(Role::Admin)
    }

    /// Support staff (and admins): working tickets and subscribers.
    pub fn support(&self) -> bool {
        self.grants(Role::Support)
    }

    /// Operators and support staff (resolving a problem).
    pub fn operator_or_support(&self) -> bool {
        self.grants(Role::Operator) || self.grants(Role::Support)
    }
}

/// Renders `page` as a console page with its headers.
pub fn render(page: &impl Template) -> Result<HttpResponse, Failure> {
    let html = page
        .render()
        .map_err(|e| Failure::from(Error::Internal(anyhow::anyhow!("template: {e}"))))?;
    Ok(html_response(StatusCode::OK, html))
}

/// An HTML answer with the console's headers.
pub fn html_response(status: StatusCode, html: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .body(html)
}

/// A redirect after a form (303: the browser follows with GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A redirect after a form to `location` (which may carry a query), with
/// `notice` for the page to show in its banner.
pub fn see_other_saying(location: &str, notice: &str) -> HttpResponse {
    let q = serde_urlencoded::to_string([("notice", notice)]).unwrap_or_default();
    let sep = if location.contains('?') { '&' } else { '?' };
    see_other(&format!("{location}{sep}{q}"))
}

/// A form field as a value: trimmed, and `None` when left empty.
pub fn filled(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// What a page redirected to after a form says happened (`?notice=`).
#[derive(Debug, serde::Deserialize)]
pub struct Notice {
    pub notice: Option<String>,
}

/// Why a console request failed, shown as a page.
#[derive(Debug)]
pub enum Failure {
    /// No live session: to the sign-in page, then back to `next`.
    SignIn {
        next: String,
        why: Option<&'static str>,
    },
    /// The user must set a password first.
    SetPassword,
    /// Anything else, with the REST API's status and message.
    Error(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

impl From<sea_orm::DbErr> for Failure {
    fn from(e: sea_orm::DbErr) -> Self {
        Failure::Error(e.into())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::SignIn { .. } => f.write_str("sign in to continue"),
            Failure::SetPassword => f.write_str("set a password first"),
            Failure::Error(e) => write!(f, "{e}"),
        }
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    shell: Shell,
    status: u16,
    title: &'static str,
    message: String,
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        match self {
            Failure::SignIn { .. } | Failure::SetPassword => StatusCode::SEE_OTHER,
            Failure::Error(e) => status_of(e),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Failure::SignIn { next, why } => {
                let mut q = vec![("next", next.as_str())];
                if let Some(why) = why {
                    q.push(("why", why));
                }
                let query = serde_urlencoded::to_string(q).unwrap_or_default();
                see_other(&format!("/sign-in?{query}"))
            }
            Failure::SetPassword => see_other("/account/password"),
            Failure::Error(e) => {
                if let Error::Internal(cause) = e {
                    tracing::error!(error = %format!("{cause:#}"), "console request failed");
                }
                let (_, title) = slug_and_title(e);
                let status = status_of(e);
                let message = match e {
                    Error::Internal(_) => {
                        "the server failed to handle the request; its log has the cause".to_owned()
                    }
                    other => other.to_string(),
                };
                let page = ErrorPage {
                    shell: Shell::new(title, Section::Overview),
                    status: status.as_u16(),
                    title,
                    message,
                };
                let html = page
                    .render()
                    .unwrap_or_else(|_| format!("{} {title}", status.as_u16()));
                html_response(status, html)
            }
        }
    }
}

/// A path to return to after sign-in: only a local path (never `//host`).
pub fn local_path(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path("/rollouts/1"), "/rollouts/1");
        assert_eq!(local_path("//evil.example/x"), "/");
        assert_eq!(local_path("https://evil.example"), "/");
        assert_eq!(local_path("/\\evil"), "/");
    }
}
