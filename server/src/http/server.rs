//! The HTTP server itself: the actix application with its middleware,
//! body limits and problem-shaped extractor errors, bound to a listener.

use std::net::TcpListener;

use actix_web::{dev::Server, web, App, HttpServer};
use tracing_actix_web::TracingLogger;

use super::{access_log, middleware, problem, routes};
use crate::state::AppState;

/// Builds the server on `listener`; it runs when awaited.
pub fn serve(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let json_limit = state.config.http.json_limit;
    let workers = state.config.http.workers;
    let data = web::Data::new(state);
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(middleware::utf8_bodies))
            .wrap(actix_web::middleware::from_fn(middleware::track))
            .wrap(actix_web::middleware::from_fn(
                middleware::request_id_header,
            ))
            .wrap(TracingLogger::<access_log::Requests>::new())
            .app_data(data.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(json_limit)
                    .error_handler(|e, _| problem::json_error(e)),
            )
            .app_data(web::QueryConfig::default().error_handler(|e, _| problem::query_error(e)))
            .app_data(web::PathConfig::default().error_handler(|e, _| problem::path_error(e)))
            .configure(routes::configure)
            .default_service(web::to(problem::not_found))
    })
    // Answers go out at once: with Nagle's algorithm a response written in
    // two segments waited for the client's delayed ACK (about 40 ms).
    .tcp_nodelay(true)
    .listen(listener)?;
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.run())
}
