//! Devices: their status and enrolment rules ([`rules`]), the store and
//! the fleet search ([`store`]), what operators do to them, shared by the
//! API and the console ([`actions`]), manufacturing lists ([`csv`]), the API ([`routes`]), what boxes call
//! to enrol and read themselves ([`enrol`]), and the extractors that
//! authenticate a box's credential ([`auth`]).

pub mod actions;
pub mod auth;
pub mod csv;
pub mod enrol;
pub mod routes;
pub mod rules;
pub mod store;
