//! Satisfaction surveys: what an answer is ([`rules`]), sending and
//! answering them ([`store`]); the public survey page is `console::survey`.
//! The subscriber API's survey calls are in `support::self_care`.

pub mod rules;
pub mod store;
