//! The fleet summary: boxes online, versions by model, fault rates per
//! 1,000 device-days by model and firmware ([`rules`], [`store`], [`routes`]).

pub mod routes;
pub mod rules;
pub mod store;
