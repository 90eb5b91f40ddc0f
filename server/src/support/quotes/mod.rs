//! Paid-repair quotes on post-warranty tickets: the lifecycle ([`rules`]),
//! proposing and answering ([`store`]), and the staff routes ([`routes`]).

pub mod routes;
pub mod rules;
pub mod store;
