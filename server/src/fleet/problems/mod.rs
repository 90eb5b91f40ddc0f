//! Fleet problems: one fault code and signature across boxes, with the
//! boxes by model and version, resolved and reopened on newer versions:
//! [`rules`], [`store`], [`routes`].

pub mod routes;
pub mod rules;
pub mod store;
