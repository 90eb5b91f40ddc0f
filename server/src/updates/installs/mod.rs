//! Install status reports: which reports a box may make ([`rules`]),
//! applying one whichever way it arrives ([`store`]), and
//! `POST /api/v1/device/status` ([`routes`]).

pub mod routes;
pub mod rules;
pub mod store;
