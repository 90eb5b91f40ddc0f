//! Devices: their status and enrolment rules ([`rules`]), the store
//! ([`store`]), what operators do with them ([`routes`]), what boxes call
//! to enrol and read themselves ([`enrol`]), and the extractors that
//! authenticate a box's credential ([`auth`]).

pub mod auth;
pub mod enrol;
pub mod routes;
pub mod rules;
pub mod store;
