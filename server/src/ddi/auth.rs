//! Who is polling: `Authorization: TargetToken <token>` (one box's own,
//! issued by Wavecast and stored hashed) or `GatewayToken <token>` (the
//! tenant-wide token of `ddi.gateway_token_file`). A box is only ever the
//! controller its token names: one box's token opens nothing of another's.

use actix_web::{http::header, HttpRequest};

use super::{
    rules::controller_id,
    store::{self, Target},
};
use crate::{
    fleet::devices::rules::DeviceStatus,
    identity::tokens::rules::matches,
    platform::error::{Error, Result},
    state::AppState,
};

/// How a request authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential<'a> {
    Target(&'a str),
    Gateway(&'a str),
}

fn credential(req: &HttpRequest) -> Result<Credential<'_>> {
    let missing = || {
        Error::Unauthorized(
            "send Authorization: TargetToken <token> (the box's own) or GatewayToken <token>"
                .into(),
        )
    };
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    match scheme {
        s if s.eq_ignore_ascii_case("TargetToken") => Ok(Credential::Target(token)),
        s if s.eq_ignore_ascii_case("GatewayToken") => Ok(Credential::Gateway(token)),
        _ => Err(missing()),
    }
}

/// The tenant in the path must be the configured one.
fn check_tenant(state: &AppState, tenant: &str) -> Result<()> {
    if tenant == state.config.ddi.tenant && state.config.ddi.enabled {
        Ok(())
    } else {
        Err(Error::NotFound(format!("no tenant {tenant:?}")))
    }
}

/// The box `controller` of `tenant`, authenticated. With `register`, a
/// box unknown so far that presents the gateway token is registered
/// (pending, or accepted when its serial is pre-authorised). A rejected
/// or decommissioned box is refused (403).
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    tenant: &str,
    controller: &str,
    register: bool,
) -> Result<Target> {
    check_tenant(state, tenant)?;
    let controller = controller_id(controller).map_err(Error::NotFound)?;
    let presented = credential(req)?;
    let refused = || Error::Unauthorized("the token is not valid for this controller".into());
    let known = store::find(&state.db, controller).await?;
    let target = match (presented, known) {
        (Credential::Target(token), Some(t)) => {
            let valid = t
                .target
                .token_hash
                .as_deref()
                .is_some_and(|h| matches(token, h));
            if !valid {
                return Err(refused());
            }
            t
        }
        (Credential::Gateway(token), known) if state.ddi_gateway.admits(token) => match known {
            Some(t) => t,
            None if register => {
                store::register_polled(&state.db, controller, state.clock.now()).await?
            }
            None => return Err(Error::NotFound(format!("no controller {controller:?}"))),
        },
        _ => return Err(refused()),
    };
    match target.device.status {
        DeviceStatus::Rejected | DeviceStatus::Decommissioned => Err(Error::Forbidden(format!(
            "this box is {}",
            target.device.status
        ))),
        _ => Ok(target),
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn both_schemes_are_read_and_others_refused() {
        let with = |v: &str| {
            TestRequest::get()
                .insert_header(("authorization", v))
                .to_http_request()
        };
        let r = with("TargetToken abc");
        assert_eq!(
            credential(&r).expect("test value"),
            Credential::Target("abc")
        );
        let r = with("gatewaytoken  xyz ");
        assert_eq!(
            credential(&r).expect("test value"),
            Credential::Gateway("xyz")
        );
        assert!(credential(&with("Bearer abc")).is_err());
        assert!(credential(&TestRequest::get().to_http_request()).is_err());
    }
}
