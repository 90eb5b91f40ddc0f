//! The check-in: which bundles a box is offered and in what order
//! ([`offers`]), finding them for one box ([`store`]), the signed answer
//! ([`routes`]), and batch signing of answers ([`signer`]).

pub mod offers;
pub mod routes;
pub mod signer;
pub mod store;
