//! The web console, served by `wavecast serve` at `/` on the API's port:
//! server-rendered pages (askama templates, HTML-escaped by default) with
//! htmx for the parts that refresh themselves and uPlot for telemetry
//! charts. Every page calls the same rules and stores as the REST API and
//! demands the same role ([`guard`]); sessions and passwords live in
//! `identity`. Pages: the overview, devices and a device, bundles and the
//! keyring, rollouts (list, create, detail), problems, and admin (users,
//! tokens, webhooks, the audit log).

pub mod assets;
pub mod bars;
pub mod guard;
pub mod overview;
pub mod page;
pub mod sign_in;

use actix_web::web;

/// Mounts the console's routes (after the API's: none overlaps them).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(overview::page))
        .route(
            "/overview/rollouts",
            web::get().to(overview::rollouts_panel),
        )
        .route("/assets/{name}", web::get().to(assets::serve))
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
