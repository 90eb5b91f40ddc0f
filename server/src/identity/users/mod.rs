//! Users: their login names ([`rules`]), lookups ([`store`]) and
//! `/api/v1/users` with `/api/v1/me` ([`routes`]).

pub mod routes;
pub mod rules;
pub mod store;
