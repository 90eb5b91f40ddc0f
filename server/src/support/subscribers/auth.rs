//! The `SubscriberAuth` extractor of the subscriber API: a `wcs_` bearer
//! token issued to one subscriber (for the operator's self-care portal or
//! mobile app acting on their behalf). Every subscriber route takes one and
//! reads only what belongs to `SubscriberAuth::subscriber`.

use std::{future::Future, pin::Pin};

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::{
    identity::{
        auth::bearer,
        tokens::rules::{self as token, Scheme},
    },
    platform::{
        entities::{subscriber, subscriber_token},
        error::Error,
    },
    state::AppState,
};

/// An authenticated subscriber.
#[derive(Debug)]
pub struct SubscriberAuth {
    pub subscriber: subscriber::Model,
}

impl FromRequest for SubscriberAuth {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                Error::Internal(anyhow::anyhow!("application state is not configured"))
            })?;
            let presented = presented?;
            let invalid = || Error::Unauthorized("invalid subscriber token".to_owned());
            let prefix = token::prefix_in(Scheme::Subscriber, &presented).ok_or_else(invalid)?;
            let found = subscriber_token::Entity::find()
                .filter(subscriber_token::Column::Prefix.eq(prefix))
                .one(&state.db)
                .await?
                .filter(|t| token::matches(&presented, &t.secret_hash))
                .ok_or_else(invalid)?;
            if found.revoked_at.is_some() {
                return Err(Error::Unauthorized(format!(
                    "subscriber token {} has been revoked",
                    found.prefix
                )));
            }
            let subscriber = subscriber::Entity::find_by_id(found.subscriber_id)
                .one(&state.db)
                .await?
                .ok_or_else(invalid)?;
            Ok(SubscriberAuth { subscriber })
        })
    }
}
