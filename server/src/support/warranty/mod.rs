//! Warranty: a box's warranty from its activation date and its model's
//! period ([`store`]; the rule is `support::tickets::rules::warranty`),
//! and the routes that set periods and a box's activation and void flag
//! ([`routes`]).

pub mod routes;
pub mod store;
