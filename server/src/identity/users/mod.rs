//! Users: their login names ([`rules`]), lookups ([`store`]), creating
//! and changing them for the API and the console ([`manage`]), and
//! `/api/v1/users` with `/api/v1/me` ([`routes`]).

pub mod manage;
pub mod routes;
pub mod rules;
pub mod store;
