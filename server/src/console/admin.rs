//! `/admin/…` (admins): users (create, role, disable or enable, reset a
//! password), API tokens (everyone's, revoke), webhooks with their
//! delivery counts (add, remove), and the audit log with its filters,
//! newest first a page at a time. The same functions as the API's.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{
    guard::{Posted, Signed},
    page::{render, see_other, Failure, Section, Shell},
    sign_in::Empty,
};
use crate::{
    identity::{
        audit::routes::{entries, AuditQuery},
        auth::access,
        passwords::store as passwords,
        roles::Role,
        tokens::routes::{revoke_token, tokens_of},
        users::{
            manage::{create_user, update_user},
            store::{self as users, find_by_name},
        },
        views::{AuditEntry, CreateUser, TokenView, UpdateUser, UserView},
    },
    platform::{entities::user, error::Error},
    state::AppState,
    support::{
        views::{WebhookBody, WebhookView},
        webhooks::routes::{add, endpoints, remove},
    },
};

#[derive(Template)]
#[template(path = "console/admin_users.html")]
struct UsersPage {
    shell: Shell,
    users: Vec<UserView>,
    roles: [Role; 4],
    notice: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Notice {
    #[serde(default)]
    done: Option<String>,
}

/// `GET /admin/users`
pub async fn users(
    signed: Signed<access::Admin>,
    state: web::Data<AppState>,
    q: web::Query<Notice>,
) -> Result<HttpResponse, Failure> {
    let users = users::all(&state.db).await?;
    render(&UsersPage {
        shell: signed.shell("Users", Section::Admin),
        users,
        roles: Role::ALL,
        notice: q.done.clone(),
    })
}

fn done(path: &str, what: String) -> HttpResponse {
    see_other(&format!(
        "{path}?{}",
        serde_urlencoded::to_string([("done", what)]).unwrap_or_default()
    ))
}

#[derive(Debug, Deserialize)]
pub struct NewUser {
    name: String,
    role: Role,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// `POST /admin/users`: a new user, with a first password if given.
pub async fn create(
    posted: Posted<access::Admin, NewUser>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let Posted { signed, form } = posted;
    let password = form.password.filter(|p| !p.is_empty());
    if let Some(p) = &password {
        passwords::checked(p, &form.name)?;
    }
    let u = create_user(
        &state,
        &signed,
        CreateUser {
            name: form.name,
            role: form.role,
            display_name: form.display_name.filter(|d| !d.trim().is_empty()),
        },
    )
    .await?;
    if let Some(p) = password {
        let phc = passwords::hash(p).await?;
        let name = u.name.clone();
        set_password(&state, &signed.caller, u, phc).await?;
        return Ok(done(
            "/admin/users",
            format!("{name} created with a password"),
        ));
    }
    Ok(done("/admin/users", format!("{} created", u.name)))
}

async fn set_password(
    state: &AppState,
    caller: &crate::identity::caller::Caller,
    u: user::Model,
    phc: String,
) -> Result<(), Failure> {
    let now = state.clock.now();
    let name = u.name.clone();
    crate::identity::audit::store::audited(&state.db, caller, now, move |txn| {
        Box::pin(async move {
            passwords::set(txn, u, phc, now).await?;
            Ok((
                (),
                crate::identity::audit::store::Entry::new("user.password", "user", name),
            ))
        })
    })
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct UserChange {
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    password: Option<String>,
}

/// `POST /admin/users/{name}`: a role, disabling or enabling, or a new
/// password (which ends the user's console sessions).
pub async fn change(
    posted: Posted<access::Admin, UserChange>,
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let Posted { signed, form } = posted;
    if let Some(p) = form.password.filter(|p| !p.is_empty()) {
        let u = find_by_name(&state.db, &name).await?;
        passwords::checked(&p, &u.name)?;
        let phc = passwords::hash(p).await?;
        set_password(&state, &signed.caller, u, phc).await?;
        return Ok(done("/admin/users", format!("password of {name} set")));
    }
    if form.role.is_none() && form.disabled.is_none() {
        return Err(Error::Validation("nothing to change".into()).into());
    }
    let u = update_user(
        &state,
        &signed,
        name.into_inner(),
        UpdateUser {
            role: form.role,
            display_name: None,
            disabled: form.disabled,
        },
    )
    .await?;
    Ok(done("/admin/users", format!("{} changed", u.name)))
}

#[derive(Template)]
#[template(path = "console/admin_tokens.html")]
struct TokensPage {
    shell: Shell,
    tokens: Vec<TokenView>,
}

/// `GET /admin/tokens`
pub async fn tokens(
    signed: Signed<access::Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    render(&TokensPage {
        shell: signed.shell("API tokens", Section::Admin),
        tokens: tokens_of(&state.db, None).await?,
    })
}

/// `POST /admin/tokens/{id}/revoke`
pub async fn revoke(
    posted: Posted<access::Admin, Empty>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    revoke_token(&state, &posted.signed, &id).await?;
    Ok(see_other("/admin/tokens"))
}

#[derive(Template)]
#[template(path = "console/admin_webhooks.html")]
struct WebhooksPage {
    shell: Shell,
    hooks: Vec<WebhookView>,
    secret: Option<String>,
}

/// `GET /admin/webhooks`
pub async fn webhooks(
    signed: Signed<access::Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    render(&WebhooksPage {
        shell: signed.shell("Webhooks", Section::Admin),
        hooks: endpoints(&state.db).await?,
        secret: None,
    })
}

#[derive(Debug, Deserialize)]
pub struct NewHook {
    url: String,
    #[serde(default)]
    events: Option<String>,
}

/// `POST /admin/webhooks`: the secret is shown on the answer, once.
pub async fn add_hook(
    posted: Posted<access::Admin, NewHook>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Failure> {
    let Posted { signed, form } = posted;
    let events: Vec<String> = form
        .events
        .unwrap_or_else(|| "*".into())
        .split([',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    let created = add(
        &state,
        &signed,
        WebhookBody {
            url: form.url,
            events,
            secret: None,
        },
    )
    .await?;
    render(&WebhooksPage {
        shell: signed.shell("Webhooks", Section::Admin),
        hooks: endpoints(&state.db).await?,
        secret: Some(created.secret),
    })
}

/// `POST /admin/webhooks/{id}/remove`
pub async fn remove_hook(
    posted: Posted<access::Admin, Empty>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    remove(&state, &posted.signed, &id).await?;
    Ok(see_other("/admin/webhooks"))
}

#[derive(Template)]
#[template(path = "console/admin_audit.html")]
struct AuditPage {
    shell: Shell,
    q: AuditQuery,
    items: Vec<AuditEntry>,
    next: Option<String>,
}

/// `GET /admin/audit`
pub async fn audit(
    signed: Signed<access::Admin>,
    state: web::Data<AppState>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, Failure> {
    let mut q = q.into_inner();
    for f in [
        &mut q.actor,
        &mut q.action,
        &mut q.object_type,
        &mut q.object_id,
    ] {
        if f.as_deref().is_some_and(|v| v.trim().is_empty()) {
            *f = None;
        }
    }
    q.limit = Some(50);
    let page = entries(&state.db, q.clone()).await?;
    let next = page.next_before.map(|before| {
        let mut n = q.clone();
        n.before = Some(before);
        n.limit = None;
        format!(
            "/admin/audit?{}",
            serde_urlencoded::to_string(&n).unwrap_or_default()
        )
    });
    render(&AuditPage {
        shell: signed.shell("Audit log", Section::Admin),
        q,
        items: page.items,
        next,
    })
}
