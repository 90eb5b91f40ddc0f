//! Bundles: their lifecycle rules ([`rules`]) and the change an operator
//! makes ([`lifecycle`]), the streamed and verified upload ([`upload`]),
//! the store and the API ([`store`], [`routes`]), and artifact downloads
//! with `Range` ([`downloads`]).

pub mod downloads;
pub mod lifecycle;
pub mod routes;
pub mod rules;
pub mod store;
pub mod upload;
