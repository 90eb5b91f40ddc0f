//! Domain types and rules: pure functions over plain data, tested without I/O.
//! HTTP, SQL and MQTT live at the edges and call into these.

pub mod bundle_state;
pub mod enrolment;
pub mod faults;
pub mod install_state;
pub mod metrics;
pub mod mqtt_acl;
pub mod names;
pub mod offers;
pub mod problems;
pub mod role;
pub mod rollout;
pub mod token;
pub mod waves;
pub mod window;
