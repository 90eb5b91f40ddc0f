//! Intake: every health report and fault a box sends, over HTTPS
//! ([`routes`]) or MQTT (`mqtt::link`, the embedded broker), passes one
//! bounded queue ([`pipeline`], with a per-box `platform::throttle`) to one writer
//! that stores many boxes' batches per transaction ([`store`]) and fans
//! new faults out to fleet problems and then to tickets.
//!
//! Architecture Invariant: this is the only place where stored telemetry
//! reaches problems and tickets; storage never calls upward.

pub mod pipeline;
pub mod routes;
pub mod store;
