//! The `Auth<P>` extractor: authenticates the bearer token and demands the
//! role named by `P` — 401 without valid credentials, 403 with too weak a role.
//!
//! Every management route takes one, so a route without an `Auth<_>` argument
//! stands out in review.

use std::{future::Future, marker::PhantomData, pin::Pin};

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpMessage, HttpRequest};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use tracing_actix_web::RequestId;

use super::caller::Caller;
use super::{roles::Role, tokens::rules as token};
use crate::{
    http::peer::client_ip_text,
    platform::{
        entities::{api_token, user},
        error::Error,
    },
    state::AppState,
};

/// How often at most `last_used_at` is written for one token, so that
/// authentication does not cost a database write per request.
const LAST_USED_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// A role requirement, named at the type level: `Auth<access::Operator>`.
pub trait Permission {
    const REQUIRED: Role;
}

/// The permission markers for [`Auth`].
pub mod access {
    use super::{Permission, Role};

    macro_rules! marker {
        ($name:ident, $role:expr) => {
            #[doc = concat!("Demands a role that grants `", stringify!($name), "`.")]
            #[derive(Debug)]
            pub struct $name;
            impl Permission for $name {
                const REQUIRED: Role = $role;
            }
        };
    }
    marker!(Admin, Role::Admin);
    marker!(Operator, Role::Operator);
    marker!(Support, Role::Support);
    marker!(Viewer, Role::Viewer);
}

/// An authenticated caller whose role grants `P`.
#[derive(Debug)]
pub struct Auth<P: Permission> {
    pub caller: Caller,
    _permission: PhantomData<P>,
}

impl<P: Permission> std::ops::Deref for Auth<P> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

impl<P: Permission + 'static> FromRequest for Auth<P> {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = bearer(req);
        let source_ip = state
            .as_ref()
            .and_then(|s| client_ip_text(req, &s.config.http.trusted_proxies));
        let request_id = req.extensions().get::<RequestId>().map(|r| r.to_string());
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("application state is not configured"))
            })?;
            let presented = presented?;
            let caller = authenticate(&state, &presented, source_ip, request_id).await?;
            caller.demand(P::REQUIRED)?;
            tracing::Span::current().record("user", caller.name.as_str());
            Ok(Auth {
                caller,
                _permission: PhantomData,
            })
        })
    }
}

/// The bearer token of a request (operator token or device credential).
pub fn bearer(req: &HttpRequest) -> Result<String, Error> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Error::Unauthorized("missing Authorization: Bearer token".to_owned()))?;
    let value = value
        .to_str()
        .map_err(|_| Error::Unauthorized("Authorization header is not text".to_owned()))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| Error::Unauthorized("expected Authorization: Bearer TOKEN".to_owned()))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Error::Unauthorized(format!(
            "unsupported authorization scheme {scheme:?}; use Bearer"
        )));
    }
    Ok(token.trim().to_owned())
}

pub(crate) async fn authenticate(
    state: &AppState,
    presented: &str,
    source_ip: Option<String>,
    request_id: Option<String>,
) -> Result<Caller, Error> {
    let invalid = || Error::Unauthorized("invalid API token".to_owned());
    let prefix = token::prefix_of(presented).ok_or_else(invalid)?;
    let found = api_token::Entity::find()
        .filter(api_token::Column::Prefix.eq(prefix))
        .find_also_related(user::Entity)
        .one(&state.db)
        .await?;
    let (tok, owner) = match found {
        Some((tok, Some(owner))) if token::matches(presented, &tok.secret_hash) => (tok, owner),
        _ => return Err(invalid()),
    };
    let now = state.clock.now();
    if tok.revoked_at.is_some() {
        return Err(Error::Unauthorized(format!(
            "API token {} has been revoked",
            tok.prefix
        )));
    }
    if tok.expires_at.is_some_and(|at| at <= now) {
        return Err(Error::Unauthorized(format!(
            "API token {} has expired",
            tok.prefix
        )));
    }
    if owner.disabled {
        return Err(Error::Unauthorized(format!(
            "user {} is disabled",
            owner.name
        )));
    }
    let role = owner.role;
    if tok
        .last_used_at
        .is_none_or(|at| now - at > LAST_USED_RESOLUTION)
    {
        let update = api_token::ActiveModel {
            id: Set(tok.id),
            last_used_at: Set(Some(now)),
            ..Default::default()
        };
        if let Err(e) = update.update(&state.db).await {
            // Not worth failing the request over.
            tracing::warn!(error = %e, "could not record token use");
        }
    }
    Ok(Caller {
        user_id: owner.id,
        name: owner.name,
        role,
        token_id: tok.id,
        token_prefix: tok.prefix,
        source_ip,
        request_id,
    })
}
