//! Satisfaction surveys: what an answer is ([`rules`]), sending and
//! answering them ([`store`]), and the public survey page ([`routes`]).
//! The subscriber API's survey calls are in `support::self_care`.

pub mod routes;
pub mod rules;
pub mod store;
