//! The trust anchors: the pinned root key and the keyrings it signed
//! ([`store`]), and `/api/v1/keyring` ([`routes`]).

pub mod routes;
pub mod store;
