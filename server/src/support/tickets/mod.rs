//! Tickets: the rules ([`rules`]: kind, dedup, priority, assignment,
//! transitions, SLA view, escalation), the store ([`store`]), how faults
//! become tickets ([`faults`]), how they follow the box's subscriber
//! ([`follow`]), the view the API and webhooks show
//! ([`view`]), the SLA sweep job ([`sweep`]) and the staff queue
//! ([`routes`]).

pub mod faults;
pub mod follow;
pub mod routes;
pub mod rules;
pub mod store;
pub mod sweep;
pub mod view;
