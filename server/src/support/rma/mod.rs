//! Warranty returns: what a return may be and what it records ([`rules`]),
//! replacing a box and recording the return ([`store`]), and the staff
//! route ([`routes`]).

pub mod routes;
pub mod rules;
pub mod store;
