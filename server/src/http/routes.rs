//! The one route table: every HTTP route of the server, mounted in one
//! place, each pointing at its feature's handler. The same table lists the
//! handlers for the OpenAPI document ([`Paths`]), and a test fails when a
//! route is mounted that the document does not describe. What boxes call
//! by the million comes first (actix tries resources in order, and each
//! dynamic one tried costs a regex match; no path here overlaps another
//! with the same method, so order changes nothing else).

use std::sync::OnceLock;

use actix_web::{web, HttpResponse, Resource, Route};
use utoipa::{openapi::OpenApi as Document, OpenApi as _};

use crate::{console, ddi, fleet, identity, intake, licences, support, updates};

/// Declares the table once: `MOUNTED` (method, path) for the test, the
/// actix routes, and the OpenAPI paths derive. A macro, because utoipa's
/// `paths(...)` needs the handlers as paths at compile time.
macro_rules! table {
    ($( $method:ident $path:literal => $handler:path ),* $(,)?) => {
        /// Every mounted (method, path), in mounting order.
        pub const MOUNTED: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        /// Every API route as (path, actix route), in mounting order.
        fn routes() -> Vec<(&'static str, Route)> {
            vec![$(($path, web::$method().to($handler))),*]
        }

        /// The operations of the OpenAPI document, one per route.
        #[derive(Debug, utoipa::OpenApi)]
        #[openapi(paths($($handler),*))]
        pub struct Paths;
    };
}

table! {
    post "/api/v1/device/check-in" => updates::checkin::routes::check_in,
    post "/api/v1/device/status" => updates::installs::routes::status,
    post "/api/v1/device/events" => intake::routes::events,
    post "/api/v1/device/enrol" => fleet::devices::enrol::enrol,
    get "/api/v1/device/self" => fleet::devices::enrol::me,
    post "/api/v1/device/licences/validate" => licences::routes::validate_own,
    get "/api/v1/artifacts/{sha256}" => updates::bundles::downloads::download,
    head "/api/v1/artifacts/{sha256}" => updates::bundles::downloads::probe,
    get "/healthz" => super::health::healthz,
    get "/readyz" => super::health::readyz,
    get "/metrics" => super::health::metrics,
    get "/api/v1/openapi.json" => serve,
    get "/api/v1/version" => super::health::version,
    get "/api/v1/me" => identity::users::routes::me,
    put "/api/v1/me/password" => identity::passwords::routes::change_own,
    get "/api/v1/users" => identity::users::routes::list,
    post "/api/v1/users" => identity::users::routes::create,
    get "/api/v1/users/{name}" => identity::users::routes::show,
    patch "/api/v1/users/{name}" => identity::users::routes::update,
    put "/api/v1/users/{name}/password" => identity::passwords::routes::reset,
    get "/api/v1/tokens" => identity::tokens::routes::list,
    post "/api/v1/tokens" => identity::tokens::routes::create,
    get "/api/v1/tokens/{id}" => identity::tokens::routes::show,
    delete "/api/v1/tokens/{id}" => identity::tokens::routes::revoke,
    get "/api/v1/audit" => identity::audit::routes::list,
    get "/api/v1/keyring" => updates::trust::routes::show,
    put "/api/v1/keyring" => updates::trust::routes::publish,
    get "/api/v1/bundles" => updates::bundles::routes::list,
    post "/api/v1/bundles" => updates::bundles::routes::upload,
    get "/api/v1/bundles/{reference}" => updates::bundles::routes::show,
    get "/api/v1/bundles/{reference}/manifest" => updates::bundles::routes::manifest,
    post "/api/v1/bundles/{reference}/{action}" => updates::bundles::routes::act,
    get "/api/v1/rollouts" => updates::rollouts::routes::list,
    post "/api/v1/rollouts" => updates::rollouts::routes::create,
    post "/api/v1/rollouts/preview" => updates::rollouts::routes::preview,
    get "/api/v1/rollouts/{id}" => updates::rollouts::routes::show,
    post "/api/v1/rollouts/{id}/{action}" => updates::rollouts::routes::act,
    get "/api/v1/fault-catalog" => fleet::catalog::routes::list,
    get "/api/v1/fault-catalog/{code}" => fleet::catalog::routes::show,
    put "/api/v1/fault-catalog/{code}" => fleet::catalog::routes::put,
    delete "/api/v1/fault-catalog/{code}" => fleet::catalog::routes::delete,
    get "/api/v1/fleet/summary" => fleet::summary::routes::summary,
    get "/api/v1/problems" => fleet::problems::routes::list,
    get "/api/v1/problems/{id}" => fleet::problems::routes::show,
    post "/api/v1/problems/{id}/resolve" => fleet::problems::routes::resolve,
    get "/api/v1/devices" => fleet::devices::routes::list,
    post "/api/v1/devices/import" => fleet::devices::routes::import,
    get "/api/v1/devices/{reference}" => support::devices::show,
    patch "/api/v1/devices/{reference}" => fleet::devices::routes::place,
    get "/api/v1/devices/{reference}/events" => fleet::telemetry::routes::events,
    get "/api/v1/devices/{reference}/series" => fleet::telemetry::routes::series,
    patch "/api/v1/devices/{reference}/warranty" => support::warranty::routes::device_warranty,
    post "/api/v1/devices/{reference}/{action}" => fleet::devices::routes::act,
    get "/api/v1/tickets" => support::tickets::routes::list,
    post "/api/v1/tickets" => support::tickets::routes::create,
    get "/api/v1/tickets/views" => support::tickets::routes::views,
    get "/api/v1/tickets/{id}" => support::tickets::routes::show,
    patch "/api/v1/tickets/{id}" => support::tickets::routes::update,
    post "/api/v1/tickets/{id}/comments" => support::tickets::routes::comment,
    post "/api/v1/tickets/{id}/quote" => support::quotes::routes::propose,
    post "/api/v1/tickets/{id}/quote/answer" => support::quotes::routes::answer,
    post "/api/v1/tickets/{id}/rma" => support::rma::routes::rma,
    get "/api/v1/plans" => support::plans::routes::list,
    put "/api/v1/plans/{key}" => support::plans::routes::put,
    put "/api/v1/plans/{key}/sla/{kind}" => support::plans::routes::put_sla,
    get "/api/v1/warranties" => support::warranty::routes::list,
    put "/api/v1/warranties/{model}" => support::warranty::routes::put,
    get "/api/v1/subscribers" => support::subscribers::routes::list,
    post "/api/v1/subscribers" => support::subscribers::routes::create,
    get "/api/v1/subscribers/{reference}" => support::subscribers::routes::show,
    patch "/api/v1/subscribers/{reference}" => support::subscribers::routes::update,
    post "/api/v1/subscribers/{reference}/devices" => support::subscribers::routes::link_device,
    delete "/api/v1/subscribers/{reference}/devices/{device}" => support::subscribers::routes::unlink_device,
    post "/api/v1/subscribers/{reference}/tokens" => support::subscribers::routes::create_token,
    get "/api/v1/support-agents" => support::agents::routes::list,
    put "/api/v1/support-agents/{name}" => support::agents::routes::put,
    get "/api/v1/webhooks" => support::webhooks::routes::list,
    post "/api/v1/webhooks" => support::webhooks::routes::create,
    delete "/api/v1/webhooks/{id}" => support::webhooks::routes::delete,
    get "/api/v1/reports/tickets" => support::reports::routes::tickets,
    get "/api/v1/subscriber/boxes" => support::self_care::routes::boxes,
    get "/api/v1/subscriber/tickets" => support::self_care::routes::list,
    post "/api/v1/subscriber/tickets" => support::self_care::routes::open,
    get "/api/v1/subscriber/tickets/{id}" => support::self_care::routes::show,
    post "/api/v1/subscriber/tickets/{id}/comments" => support::self_care::routes::comment,
    post "/api/v1/subscriber/tickets/{id}/quote" => support::self_care::routes::quote,
    post "/api/v1/subscriber/tickets/{id}/survey" => support::self_care::routes::answer_survey,
    get "/api/v1/subscriber/surveys" => support::self_care::routes::surveys,
    get "/api/v1/subscriber/kb" => support::self_care::routes::kb,
    get "/api/v1/subscriber/kb/{code}" => support::self_care::routes::kb_article,
    get "/api/v1/products" => licences::routes::products,
    post "/api/v1/products" => licences::routes::create_product,
    get "/api/v1/licence-policies" => licences::routes::policies,
    post "/api/v1/licence-policies" => licences::routes::create_policy,
    get "/api/v1/licences" => licences::routes::list,
    post "/api/v1/licences" => licences::routes::create,
    post "/api/v1/licences/validate" => licences::routes::validate,
    get "/api/v1/licences/validations" => licences::routes::validations,
    get "/api/v1/licences/{id}" => licences::routes::show,
    post "/api/v1/licences/{id}/activations" => licences::routes::activate,
    delete "/api/v1/licences/{id}/activations/{device}" => licences::routes::deactivate,
    post "/api/v1/licences/{id}/{action}" => licences::routes::act,
    post "/api/v1/ddi/targets" => ddi::targets::register,
    get "/api/v1/ddi/targets/{controller}" => ddi::targets::show,
    post "/api/v1/ddi/targets/{controller}/token" => ddi::targets::issue_token,
    delete "/api/v1/ddi/targets/{controller}/token" => ddi::targets::revoke_token,
}

/// The whole OpenAPI document, built once from [`Paths`].
pub fn document() -> &'static Document {
    static DOC: OnceLock<Document> = OnceLock::new();
    DOC.get_or_init(|| super::openapi::build(Paths::openapi()))
}

/// `GET /api/v1/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "server",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json", body = Object))
)]
pub async fn serve() -> HttpResponse {
    static JSON: OnceLock<String> = OnceLock::new();
    let body = JSON.get_or_init(|| serde_json::to_string(document()).unwrap_or_default());
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body.as_str())
}

/// The device event route reads batches up to its own limit.
fn events_json() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(intake::routes::EVENTS_BODY_LIMIT)
        .error_handler(|e, _| super::problem::json_error(e))
}

/// Mounts every route on an actix `ServiceConfig`: one resource per path
/// with all its methods (another method answers 405 as a problem), then
/// the survey pages and the console.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut resources: Vec<(&str, Resource)> = Vec::new();
    for (path, route) in routes() {
        let i = match resources.iter().position(|(p, _)| *p == path) {
            Some(i) => i,
            None => {
                let mut resource = web::resource(path)
                    .default_service(web::to(super::problem::method_not_allowed));
                if path == "/api/v1/device/events" {
                    resource = resource.app_data(events_json());
                }
                resources.push((path, resource));
                resources.len() - 1
            }
        };
        let (p, resource) = resources.remove(i);
        resources.insert(i, (p, resource.route(route)));
    }
    for (_, resource) in resources {
        cfg.service(resource);
    }
    cfg.service(
        web::resource("/survey/{token}")
            .get(console::survey::page)
            .post(console::survey::answer_page),
    )
    .configure(console::configure)
    .configure(ddi::routes::configure);
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_mounted_route_is_documented() {
        let doc = document();
        let documented: BTreeSet<(String, String)> = doc
            .paths
            .paths
            .iter()
            .flat_map(|(path, item)| {
                let item = serde_json::to_value(item).expect("path item");
                let methods: Vec<String> = item
                    .as_object()
                    .map(|o| o.keys().cloned().collect())
                    .unwrap_or_default();
                methods
                    .into_iter()
                    .filter(|m| {
                        ["get", "put", "post", "delete", "patch", "head"].contains(&m.as_str())
                    })
                    .map(move |m| (m, path.clone()))
            })
            .collect();
        let mounted: BTreeSet<(String, String)> = MOUNTED
            .iter()
            .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        let undocumented: Vec<_> = mounted.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "mounted without a document: {undocumented:?}"
        );
        let unmounted: Vec<_> = documented.difference(&mounted).collect();
        assert!(
            unmounted.is_empty(),
            "documented but not mounted: {unmounted:?}"
        );
        assert_eq!(mounted.len(), MOUNTED.len(), "a route is mounted twice");
    }

    #[test]
    fn every_reference_resolves_and_every_operation_has_an_id() {
        let doc = serde_json::to_value(document()).expect("document");
        assert_eq!(doc["openapi"], "3.1.0");
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let text = doc.to_string();
        let unresolved: std::collections::BTreeSet<&str> = text
            .split("\"$ref\":\"#/components/schemas/")
            .skip(1)
            .map(|piece| piece.split('"').next().unwrap_or_default())
            .filter(|name| !schemas.contains_key(*name))
            .collect();
        assert!(unresolved.is_empty(), "unresolved schemas: {unresolved:?}");
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("item") {
                let id = op["operationId"].as_str().unwrap_or_default().to_owned();
                assert!(
                    ids.insert(id.clone()),
                    "{method} {path}: operation id {id} repeats"
                );
                assert!(
                    op["responses"]["500"].is_object(),
                    "{method} {path}: no 500"
                );
            }
        }
    }
}
