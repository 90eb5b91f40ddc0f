//! The trust anchors: the pinned root key and the keyrings it signed
//! ([`store`]), what they may allow the server's own key ([`rules`]), and
//! `/api/v1/keyring` ([`routes`]).

pub mod routes;
pub mod rules;
pub mod store;
