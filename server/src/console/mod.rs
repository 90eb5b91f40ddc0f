//! The web console, served by `wavecast serve` at `/` on the API's port:
//! server-rendered pages (askama templates, HTML-escaped by default) with
//! htmx for the parts that refresh themselves and uPlot for telemetry
//! charts. Every page calls the same rules and stores as the REST API and
//! demands the same role ([`guard`]); sessions and passwords live in
//! `identity`. Pages: the overview, devices and a device, bundles and the
//! keyring, rollouts (list, create, detail), problems, the support desk
//! (the ticket queue, a ticket, a new ticket, subscribers, reports,
//! settings), licences (products, policies, holders, activations, the
//! validation log), admin (users, tokens, webhooks,
//! the audit log), and the public survey page.

pub mod admin;
pub mod assets;
pub mod bars;
pub mod bundles;
pub mod catalog;
pub mod charts;
pub mod device;
pub mod devices;
pub mod guard;
pub mod licences;
pub mod overview;
pub mod page;
pub mod problems;
pub mod reports;
pub mod rollout_form;
pub mod rollouts;
pub mod settings;
pub mod sign_in;
pub mod subscribers;
pub mod survey;
pub mod ticket;
pub mod ticket_form;
pub mod tickets;

use actix_web::web;

/// Mounts the console's routes (after the API's: none overlaps them).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(overview::page))
        .route(
            "/overview/rollouts",
            web::get().to(overview::rollouts_panel),
        )
        .route("/assets/{name}", web::get().to(assets::serve))
        .route("/bundles", web::get().to(bundles::list))
        .route("/bundles/upload", web::post().to(bundles::upload))
        .route("/bundles/{reference}", web::get().to(bundles::page))
        .route(
            "/bundles/{reference}/{action}",
            web::post().to(bundles::act),
        )
        .route("/keyring", web::get().to(bundles::keyring))
        .service(
            web::resource("/admin/users")
                .get(admin::users)
                .post(admin::create),
        )
        .route("/admin/users/{name}", web::post().to(admin::change))
        .route("/admin/tokens", web::get().to(admin::tokens))
        .route("/admin/tokens/{id}/revoke", web::post().to(admin::revoke))
        .service(
            web::resource("/admin/webhooks")
                .get(admin::webhooks)
                .post(admin::add_hook),
        )
        .route(
            "/admin/webhooks/{id}/remove",
            web::post().to(admin::remove_hook),
        )
        .route("/admin/audit", web::get().to(admin::audit))
        .route("/problems", web::get().to(problems::list))
        .route("/problems/{id}", web::get().to(problems::page))
        .route("/problems/{id}/resolve", web::post().to(problems::resolve))
        .route("/rollouts", web::get().to(rollouts::list))
        .service(
            web::resource("/rollouts/new")
                .get(rollout_form::page)
                .post(rollout_form::create),
        )
        .route("/rollouts/preview", web::post().to(rollout_form::preview))
        .route("/rollouts/{id}", web::get().to(rollouts::page))
        .route("/rollouts/{id}/live", web::get().to(rollouts::live_part))
        .route("/rollouts/{id}/{action}", web::post().to(rollouts::act))
        .route("/settings", web::get().to(settings::plans))
        .route("/settings/plans", web::post().to(settings::save_plan))
        .service(
            web::resource("/settings/plans/{key}/{kind}")
                .get(settings::policy)
                .post(settings::save_policy),
        )
        .service(
            web::resource("/settings/warranty")
                .get(settings::warranty)
                .post(settings::save_warranty),
        )
        .route("/settings/agents", web::get().to(settings::agents_page))
        .route(
            "/settings/agents/{name}",
            web::post().to(settings::save_agent),
        )
        .service(
            web::resource("/settings/catalog")
                .get(catalog::list)
                .post(catalog::save),
        )
        .route("/settings/catalog/{code}", web::get().to(catalog::page))
        .route("/reports", web::get().to(reports::page))
        .route("/reports.csv", web::get().to(reports::csv))
        .route("/tickets", web::get().to(tickets::list))
        .route("/tickets/part", web::get().to(tickets::part))
        .route("/tickets/bulk", web::post().to(tickets::bulk))
        .service(
            web::resource("/tickets/new")
                .get(ticket_form::page)
                .post(ticket_form::create),
        )
        .service(
            web::resource("/tickets/{id}")
                .get(ticket::page)
                .post(ticket::act),
        )
        .route("/tickets/{id}/part", web::get().to(ticket::part))
        .service(
            web::resource("/subscribers")
                .get(subscribers::list)
                .post(subscribers::create),
        )
        .service(
            web::resource("/subscribers/{account}")
                .get(subscribers::page)
                .post(subscribers::act),
        )
        .route("/licences", web::get().to(licences::list))
        .service(
            web::resource("/licences/{id}")
                .get(licences::page)
                .post(licences::act),
        )
        .route("/devices", web::get().to(devices::list))
        .route("/devices/import/preview", web::post().to(devices::preview))
        .route("/devices/import", web::post().to(devices::import))
        .route("/devices/{reference}", web::get().to(device::page))
        .route(
            "/devices/{reference}/placement",
            web::post().to(devices::place),
        )
        .route(
            "/devices/{reference}/{action}",
            web::post().to(devices::act),
        )
        .service(
            web::resource("/sign-in")
                .get(sign_in::page)
                .post(sign_in::sign_in),
        )
        .route("/sign-out", web::post().to(sign_in::sign_out))
        .service(
            web::resource("/account/password")
                .get(sign_in::password_page)
                .post(sign_in::change_password),
        );
}
