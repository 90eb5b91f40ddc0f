//! Support agents: who takes a new ticket ([`store`]) and their queues and
//! shifts ([`routes`]).

pub mod routes;
pub mod store;
