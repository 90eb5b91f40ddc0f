//! HTTP routes, one module per resource. [`configure`] mounts them all.

mod aftersales;
mod artifacts;
mod audit;
mod bundles;
mod catalog;
mod device_api;
mod devices;
mod fleet;
mod health;
mod keyring;
mod problems;
mod rollouts;
mod self_care;
mod tickets;
mod tokens;
mod users;

use actix_web::web;

use crate::error::{ApiError, ApiResult};

/// A list's `?limit=`: `default` when not given, refused (422) outside
/// 1..=`max`.
pub(crate) fn limit(asked: Option<u64>, default: u64, max: u64) -> ApiResult<u64> {
    let limit = asked.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::Validation(format!(
            "limit must be between 1 and {max}"
        )))
    }
}

/// For `#[serde(default, deserialize_with = "present")]` on an
/// `Option<Option<T>>` field: absent is `None`, `null` is `Some(None)`
/// (clear it), a value is `Some(Some(v))`. Plain `#[serde(default)]` would
/// read `null` as absent.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// Mounts every route on an actix `ServiceConfig`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .service(
            web::resource("/survey/{token}")
                .get(self_care::survey_page)
                .post(self_care::survey_answer),
        )
        .service(
            web::scope("/api/v1")
                // What boxes call by the million comes first: actix tries
                // routes in order, and each dynamic one tried costs a regex
                // match. (No route here overlaps another, so order changes
                // nothing else.)
                .route("/device/check-in", web::post().to(device_api::check_in))
                .route("/device/status", web::post().to(device_api::status))
                .service(
                    web::resource("/device/events")
                        .app_data(
                            web::JsonConfig::default()
                                .limit(device_api::EVENTS_BODY_LIMIT)
                                .error_handler(|e, _| crate::error::json_error(e)),
                        )
                        .post(device_api::events),
                )
                .route("/device/enrol", web::post().to(device_api::enrol))
                .route("/device/self", web::get().to(device_api::me))
                .route("/version", web::get().to(health::version))
                .route("/me", web::get().to(users::me))
                .service(web::resource("/users").get(users::list).post(users::create))
                .service(
                    web::resource("/users/{name}")
                        .get(users::show)
                        .patch(users::update),
                )
                .service(
                    web::resource("/tokens")
                        .get(tokens::list)
                        .post(tokens::create),
                )
                .service(
                    web::resource("/tokens/{id}")
                        .get(tokens::show)
                        .delete(tokens::revoke),
                )
                .route("/audit", web::get().to(audit::list))
                .service(
                    web::resource("/keyring")
                        .get(keyring::show)
                        .put(keyring::publish),
                )
                .service(
                    web::resource("/bundles")
                        .get(bundles::list)
                        .post(bundles::upload),
                )
                .route("/bundles/{reference}", web::get().to(bundles::show))
                .route(
                    "/bundles/{reference}/manifest",
                    web::get().to(bundles::manifest),
                )
                .route(
                    "/bundles/{reference}/{action}",
                    web::post().to(bundles::act),
                )
                .service(
                    web::resource("/rollouts")
                        .get(rollouts::list)
                        .post(rollouts::create),
                )
                .route("/rollouts/{id}", web::get().to(rollouts::show))
                .route("/rollouts/{id}/{action}", web::post().to(rollouts::act))
                .route("/fault-catalog", web::get().to(catalog::list))
                .service(
                    web::resource("/fault-catalog/{code}")
                        .get(catalog::show)
                        .put(catalog::put)
                        .delete(catalog::delete),
                )
                .route("/fleet/summary", web::get().to(fleet::summary))
                .route("/problems", web::get().to(problems::list))
                .route("/problems/{id}", web::get().to(problems::show))
                .route("/problems/{id}/resolve", web::post().to(problems::resolve))
                .route("/devices", web::get().to(devices::list))
                .service(
                    web::resource("/devices/import")
                        // Manufacturing lists run to millions of lines.
                        .app_data(web::PayloadConfig::new(64 << 20))
                        .post(devices::import),
                )
                .route("/devices/{reference}", web::get().to(devices::show))
                // `{reference}/{action}` below takes only POST, so a GET
                // of `…/events` cannot land there.
                .route(
                    "/devices/{reference}/events",
                    web::get().to(devices::events),
                )
                .route(
                    "/devices/{reference}/series",
                    web::get().to(devices::series),
                )
                .route(
                    "/devices/{reference}/warranty",
                    web::patch().to(aftersales::device_warranty),
                )
                .route(
                    "/devices/{reference}/{action}",
                    web::post().to(devices::act),
                )
                .service(
                    web::resource("/tickets")
                        .get(tickets::list)
                        .post(tickets::create),
                )
                .service(
                    web::resource("/tickets/{id}")
                        .get(tickets::show)
                        .patch(tickets::update),
                )
                .route("/tickets/{id}/comments", web::post().to(tickets::comment))
                .route("/tickets/{id}/quote", web::post().to(tickets::quote))
                .route(
                    "/tickets/{id}/quote/answer",
                    web::post().to(tickets::quote_answer),
                )
                .route("/tickets/{id}/rma", web::post().to(tickets::rma))
                .route("/plans", web::get().to(aftersales::plans))
                .route("/plans/{key}", web::put().to(aftersales::put_plan))
                .route(
                    "/plans/{key}/sla/{kind}",
                    web::put().to(aftersales::put_sla),
                )
                .route("/warranties", web::get().to(aftersales::warranties))
                .route(
                    "/warranties/{model}",
                    web::put().to(aftersales::put_warranty),
                )
                .service(
                    web::resource("/subscribers")
                        .get(aftersales::subscribers)
                        .post(aftersales::create_subscriber),
                )
                .service(
                    web::resource("/subscribers/{reference}")
                        .get(aftersales::subscriber)
                        .patch(aftersales::update_subscriber),
                )
                .route(
                    "/subscribers/{reference}/devices",
                    web::post().to(aftersales::link_device),
                )
                .route(
                    "/subscribers/{reference}/devices/{device}",
                    web::delete().to(aftersales::unlink_device),
                )
                .route(
                    "/subscribers/{reference}/tokens",
                    web::post().to(aftersales::create_token),
                )
                .route("/support-agents", web::get().to(aftersales::agents))
                .route(
                    "/support-agents/{name}",
                    web::put().to(aftersales::put_agent),
                )
                .service(
                    web::resource("/webhooks")
                        .get(aftersales::webhooks)
                        .post(aftersales::create_webhook),
                )
                .route(
                    "/webhooks/{id}",
                    web::delete().to(aftersales::delete_webhook),
                )
                .route("/reports/tickets", web::get().to(aftersales::report))
                .route("/subscriber/boxes", web::get().to(self_care::boxes))
                .service(
                    web::resource("/subscriber/tickets")
                        .get(self_care::list)
                        .post(self_care::open),
                )
                .route("/subscriber/tickets/{id}", web::get().to(self_care::show))
                .route(
                    "/subscriber/tickets/{id}/comments",
                    web::post().to(self_care::comment),
                )
                .route(
                    "/subscriber/tickets/{id}/quote",
                    web::post().to(self_care::quote),
                )
                .route(
                    "/subscriber/tickets/{id}/survey",
                    web::post().to(self_care::answer_survey),
                )
                .route("/subscriber/surveys", web::get().to(self_care::surveys))
                .route("/subscriber/kb", web::get().to(self_care::kb))
                .route(
                    "/subscriber/kb/{code}",
                    web::get().to(self_care::kb_article),
                )
                .service(
                    web::resource("/artifacts/{sha256}")
                        .route(web::get().to(artifacts::download))
                        .route(web::head().to(artifacts::download)),
                ),
        );
}
