//! `DeviceAuth`: the extractor for device-facing routes. A box presents its
//! credential (`wcd_…`) as a bearer token; only accepted devices with an
//! unexpired credential pass. Operator tokens are not device credentials.

use std::{future::Future, pin::Pin};

use actix_web::{dev::Payload, web, FromRequest, HttpRequest};

use crate::{
    identity::auth::bearer,
    platform::{entities::device, error::Error},
    state::AppState,
};

/// An authenticated, accepted device.
#[derive(Debug, Clone)]
pub struct DeviceAuth {
    pub device: device::Model,
}

/// The state and the presented bearer credential, for device extractors.
fn presented(
    req: &HttpRequest,
) -> impl Future<Output = Result<(web::Data<AppState>, String), Error>> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let presented = bearer(req);
    async move {
        let state =
            state.ok_or_else(|| Error::Internal(anyhow::anyhow!("no application state")))?;
        Ok((state, presented?))
    }
}

impl FromRequest for DeviceAuth {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let presented = presented(req);
        Box::pin(async move {
            let (state, credential) = presented.await?;
            let device =
                super::store::authenticate(&state.db, &credential, state.clock.now()).await?;
            Ok(DeviceAuth { device })
        })
    }
}

/// An authenticated, accepted box as the device directory knows it: the
/// check-in's extractor, which reads no database when the box is known.
#[derive(Debug, Clone)]
pub struct DirectoryAuth(pub crate::fleet::directory::Entry);

impl FromRequest for DirectoryAuth {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let presented = presented(req);
        Box::pin(async move {
            let (state, credential) = presented.await?;
            state
                .directory
                .authenticate(&state.db, &credential, state.clock.now())
                .await
                .map(DirectoryAuth)
        })
    }
}
