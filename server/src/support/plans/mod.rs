//! Plans and their SLA policies: what a plan key is ([`rules`]), the
//! default plans and each plan's terms per ticket kind ([`store`]), and
//! `/api/v1/plans` ([`routes`]).

pub mod routes;
pub mod rules;
pub mod store;
