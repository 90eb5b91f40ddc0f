//! Tickets: the rules ([`rules`]: kind, dedup, priority, assignment,
//! transitions, SLA view, escalation), the store ([`store`]), how faults
//! become tickets ([`faults`]), how they follow the box's subscriber
//! ([`follow`]), the view the API and webhooks show
//! ([`view`]), when each next falls due ([`due`]), the SLA sweep job
//! ([`sweep`]), the queue's saved views ([`queue`]) and the staff API
//! ([`routes`]).

pub mod due;
pub mod faults;
pub mod follow;
pub mod queue;
pub mod routes;
pub mod rules;
pub mod store;
pub mod sweep;
pub mod view;
