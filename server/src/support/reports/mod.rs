//! Reports for support managers: SLA compliance, response and resolution
//! times, satisfaction and warranty claims ([`store`], [`routes`]).

pub mod routes;
pub mod store;
