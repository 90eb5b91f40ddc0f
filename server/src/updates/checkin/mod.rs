//! The check-in: which bundles a box is offered and in what order
//! ([`offers`]), finding them for one box ([`store`]), the signed answer
//! ([`routes`]), the online key that signs it ([`key`]), and batch
//! signing of answers ([`signer`]).

pub mod key;
pub mod offers;
pub mod routes;
pub mod signer;
pub mod store;
