//! Bundles: their lifecycle ([`rules`]), the streamed and verified
//! upload ([`upload`]), the store and the API ([`store`], [`routes`]), and
//! artifact downloads with `Range` ([`downloads`]).

pub mod downloads;
pub mod routes;
pub mod rules;
pub mod store;
pub mod upload;
