//! HTTP at the edge: the server (HTTPS itself when configured: [`tls`]) and
//! its middleware (the request span and
//! log line: [`access_log`]), the one route table
//! ([`routes`]) and the OpenAPI document made from it ([`openapi`]), the mapping of errors to problem bodies ([`problem`]),
//! parameter parsing every feature shares ([`params`]), the client's
//! address as far as it can be trusted ([`peer`]) and the health,
//! readiness, version and metrics endpoints ([`health`]). Handlers live
//! in their feature folders, beside the rules and stores they call.

pub mod access_log;
pub mod health;
pub mod middleware;
pub mod openapi;
pub mod params;
pub mod peer;
pub mod problem;
pub mod routes;
pub mod server;
pub mod tls;
