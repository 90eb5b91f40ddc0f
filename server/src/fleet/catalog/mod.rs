//! The fault catalog: what a fault code means (class, severity,
//! knowledge-base article, ticket policy): [`rules`], [`store`], [`routes`].

pub mod routes;
pub mod rules;
pub mod store;
