//! The HTTP server itself: the actix application with its middleware,
//! body limits and problem-shaped extractor errors, bound to a listener;
//! over HTTPS (with `Strict-Transport-Security`) when `http.tls` is set,
//! and then, where `http.tls.redirect_bind` says, a plain-HTTP listener
//! that sends every request to HTTPS.

use std::net::TcpListener;

use actix_web::{
    dev::Server,
    http::header,
    middleware::{Condition, DefaultHeaders},
    web, App, HttpRequest, HttpResponse, HttpServer,
};
use anyhow::Context as _;
use tracing_actix_web::TracingLogger;

use super::{access_log, middleware, problem, routes, tls};
use crate::state::AppState;

/// Builds the server on `listener`; it runs when awaited.
pub fn serve(listener: TcpListener, state: AppState) -> anyhow::Result<Server> {
    let json_limit = state.config.http.json_limit;
    let workers = state.config.http.workers;
    let tls = state.config.http.tls.clone();
    let hsts = tls
        .as_ref()
        .filter(|t| t.hsts_max_age_secs > 0)
        .map(|t| format!("max-age={}", t.hsts_max_age_secs));
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(Condition::new(
                hsts.is_some(),
                DefaultHeaders::new().add((
                    header::STRICT_TRANSPORT_SECURITY,
                    hsts.clone().unwrap_or_default(),
                )),
            ))
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
    .tcp_nodelay(true);
    let https_port = listener.local_addr()?.port();
    let mut server = match &tls {
        Some(files) => {
            let cert = tls::ReloadingCert::open(files.files()).context("http.tls")?;
            cert.clone().watch();
            if let Some(plain) = files.redirect_bind {
                redirect(plain, https_port)?;
            }
            server.listen_rustls_0_23(listener, tls::server_config(cert))?
        }
        None => server.listen(listener)?,
    };
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// A plain-HTTP listener on `bind` answering every request with a
/// permanent redirect to the same host and path on `https_port`.
fn redirect(bind: std::net::SocketAddr, https_port: u16) -> anyhow::Result<()> {
    let server = HttpServer::new(move || {
        App::new().default_service(web::to(move |req: HttpRequest| async move {
            let host = req.connection_info().host().to_owned();
            let path = req
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            HttpResponse::PermanentRedirect()
                .insert_header((
                    header::LOCATION,
                    tls::redirect_target(&host, https_port, &path),
                ))
                .finish()
        }))
    })
    .workers(1)
    .bind(bind)
    .map_err(|e| anyhow::anyhow!("cannot listen on {bind} (http.tls.redirect_bind): {e}"))?
    .run();
    tokio::spawn(server);
    Ok(())
}
