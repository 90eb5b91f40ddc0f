//! Subscribers: the store ([`store`]), `/api/v1/subscribers` ([`routes`]),
//! and the extractor of the subscriber API's `wcs_` tokens ([`auth`]).

pub mod auth;
pub mod routes;
pub mod store;
