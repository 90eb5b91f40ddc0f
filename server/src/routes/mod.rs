//! HTTP routes, one module per resource. [`configure`] mounts them all.

mod audit;
mod health;
mod tokens;
mod users;

use actix_web::web;

/// Mounts every route on an actix `ServiceConfig`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .service(
            web::scope("/api/v1")
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
                .route("/audit", web::get().to(audit::list)),
        );
}
