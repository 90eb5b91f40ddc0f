//! The one route table: every HTTP route of the server, mounted in one
//! place, each pointing at its feature's handler. What boxes call by the
//! million comes first (actix tries routes in order, and each dynamic one
//! tried costs a regex match; no route here overlaps another, so order
//! changes nothing else).

use actix_web::web;

use crate::{fleet, identity, intake, support, updates};

/// Mounts every route on an actix `ServiceConfig`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(super::health::healthz))
        .route("/readyz", web::get().to(super::health::readyz))
        .route("/metrics", web::get().to(super::health::metrics))
        .service(
            web::resource("/survey/{token}")
                .get(support::surveys::routes::page)
                .post(support::surveys::routes::answer_page),
        )
        .service(
            web::scope("/api/v1")
                .route(
                    "/device/check-in",
                    web::post().to(updates::checkin::routes::check_in),
                )
                .route(
                    "/device/status",
                    web::post().to(updates::installs::routes::status),
                )
                .service(
                    web::resource("/device/events")
                        .app_data(
                            web::JsonConfig::default()
                                .limit(intake::routes::EVENTS_BODY_LIMIT)
                                .error_handler(|e, _| super::problem::json_error(e)),
                        )
                        .post(intake::routes::events),
                )
                .route(
                    "/device/enrol",
                    web::post().to(fleet::devices::enrol::enrol),
                )
                .route("/device/self", web::get().to(fleet::devices::enrol::me))
                .route("/version", web::get().to(super::health::version))
                .route("/me", web::get().to(identity::users::routes::me))
                .service(
                    web::resource("/users")
                        .get(identity::users::routes::list)
                        .post(identity::users::routes::create),
                )
                .service(
                    web::resource("/users/{name}")
                        .get(identity::users::routes::show)
                        .patch(identity::users::routes::update),
                )
                .service(
                    web::resource("/tokens")
                        .get(identity::tokens::routes::list)
                        .post(identity::tokens::routes::create),
                )
                .service(
                    web::resource("/tokens/{id}")
                        .get(identity::tokens::routes::show)
                        .delete(identity::tokens::routes::revoke),
                )
                .route("/audit", web::get().to(identity::audit::routes::list))
                .service(
                    web::resource("/keyring")
                        .get(updates::trust::routes::show)
                        .put(updates::trust::routes::publish),
                )
                .service(
                    web::resource("/bundles")
                        .get(updates::bundles::routes::list)
                        .post(updates::bundles::routes::upload),
                )
                .route(
                    "/bundles/{reference}",
                    web::get().to(updates::bundles::routes::show),
                )
                .route(
                    "/bundles/{reference}/manifest",
                    web::get().to(updates::bundles::routes::manifest),
                )
                .route(
                    "/bundles/{reference}/{action}",
                    web::post().to(updates::bundles::routes::act),
                )
                .service(
                    web::resource("/rollouts")
                        .get(updates::rollouts::routes::list)
                        .post(updates::rollouts::routes::create),
                )
                .route(
                    "/rollouts/{id}",
                    web::get().to(updates::rollouts::routes::show),
                )
                .route(
                    "/rollouts/{id}/{action}",
                    web::post().to(updates::rollouts::routes::act),
                )
                .route(
                    "/fault-catalog",
                    web::get().to(fleet::catalog::routes::list),
                )
                .service(
                    web::resource("/fault-catalog/{code}")
                        .get(fleet::catalog::routes::show)
                        .put(fleet::catalog::routes::put)
                        .delete(fleet::catalog::routes::delete),
                )
                .route(
                    "/fleet/summary",
                    web::get().to(fleet::summary::routes::summary),
                )
                .route("/problems", web::get().to(fleet::problems::routes::list))
                .route(
                    "/problems/{id}",
                    web::get().to(fleet::problems::routes::show),
                )
                .route(
                    "/problems/{id}/resolve",
                    web::post().to(fleet::problems::routes::resolve),
                )
                .route("/devices", web::get().to(fleet::devices::routes::list))
                .service(
                    web::resource("/devices/import")
                        // Manufacturing lists run to millions of lines.
                        .app_data(web::PayloadConfig::new(64 << 20))
                        .post(fleet::devices::routes::import),
                )
                .route(
                    "/devices/{reference}",
                    web::get().to(support::devices::show),
                )
                // `{reference}/{action}` below takes only POST, so a GET
                // of `…/events` cannot land there.
                .route(
                    "/devices/{reference}/events",
                    web::get().to(fleet::telemetry::routes::events),
                )
                .route(
                    "/devices/{reference}/series",
                    web::get().to(fleet::telemetry::routes::series),
                )
                .route(
                    "/devices/{reference}/warranty",
                    web::patch().to(support::warranty::routes::device_warranty),
                )
                .route(
                    "/devices/{reference}/{action}",
                    web::post().to(fleet::devices::routes::act),
                )
                .service(
                    web::resource("/tickets")
                        .get(support::tickets::routes::list)
                        .post(support::tickets::routes::create),
                )
                .service(
                    web::resource("/tickets/{id}")
                        .get(support::tickets::routes::show)
                        .patch(support::tickets::routes::update),
                )
                .route(
                    "/tickets/{id}/comments",
                    web::post().to(support::tickets::routes::comment),
                )
                .route(
                    "/tickets/{id}/quote",
                    web::post().to(support::quotes::routes::propose),
                )
                .route(
                    "/tickets/{id}/quote/answer",
                    web::post().to(support::quotes::routes::answer),
                )
                .route(
                    "/tickets/{id}/rma",
                    web::post().to(support::rma::routes::rma),
                )
                .route("/plans", web::get().to(support::plans::routes::list))
                .route("/plans/{key}", web::put().to(support::plans::routes::put))
                .route(
                    "/plans/{key}/sla/{kind}",
                    web::put().to(support::plans::routes::put_sla),
                )
                .route(
                    "/warranties",
                    web::get().to(support::warranty::routes::list),
                )
                .route(
                    "/warranties/{model}",
                    web::put().to(support::warranty::routes::put),
                )
                .service(
                    web::resource("/subscribers")
                        .get(support::subscribers::routes::list)
                        .post(support::subscribers::routes::create),
                )
                .service(
                    web::resource("/subscribers/{reference}")
                        .get(support::subscribers::routes::show)
                        .patch(support::subscribers::routes::update),
                )
                .route(
                    "/subscribers/{reference}/devices",
                    web::post().to(support::subscribers::routes::link_device),
                )
                .route(
                    "/subscribers/{reference}/devices/{device}",
                    web::delete().to(support::subscribers::routes::unlink_device),
                )
                .route(
                    "/subscribers/{reference}/tokens",
                    web::post().to(support::subscribers::routes::create_token),
                )
                .route(
                    "/support-agents",
                    web::get().to(support::agents::routes::list),
                )
                .route(
                    "/support-agents/{name}",
                    web::put().to(support::agents::routes::put),
                )
                .service(
                    web::resource("/webhooks")
                        .get(support::webhooks::routes::list)
                        .post(support::webhooks::routes::create),
                )
                .route(
                    "/webhooks/{id}",
                    web::delete().to(support::webhooks::routes::delete),
                )
                .route(
                    "/reports/tickets",
                    web::get().to(support::reports::routes::tickets),
                )
                .route(
                    "/subscriber/boxes",
                    web::get().to(support::self_care::routes::boxes),
                )
                .service(
                    web::resource("/subscriber/tickets")
                        .get(support::self_care::routes::list)
                        .post(support::self_care::routes::open),
                )
                .route(
                    "/subscriber/tickets/{id}",
                    web::get().to(support::self_care::routes::show),
                )
                .route(
                    "/subscriber/tickets/{id}/comments",
                    web::post().to(support::self_care::routes::comment),
                )
                .route(
                    "/subscriber/tickets/{id}/quote",
                    web::post().to(support::self_care::routes::quote),
                )
                .route(
                    "/subscriber/tickets/{id}/survey",
                    web::post().to(support::self_care::routes::answer_survey),
                )
                .route(
                    "/subscriber/surveys",
                    web::get().to(support::self_care::routes::surveys),
                )
                .route(
                    "/subscriber/kb",
                    web::get().to(support::self_care::routes::kb),
                )
                .route(
                    "/subscriber/kb/{code}",
                    web::get().to(support::self_care::routes::kb_article),
                )
                .service(
                    web::resource("/artifacts/{sha256}")
                        .route(web::get().to(updates::bundles::downloads::download))
                        .route(web::head().to(updates::bundles::downloads::download)),
                ),
        );
}
