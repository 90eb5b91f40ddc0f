//! sea-orm entities: one module per table. Only the SQL edge uses them;
//! domain rules work on plain types.

pub mod api_token;
pub mod audit_log;
pub mod bundle;
pub mod bundle_artifact;
pub mod device;
pub mod device_event;
pub mod device_event_drop;
pub mod fault_catalog;
pub mod health_hourly;
pub mod job_mark;
pub mod keyring;
pub mod lease;
pub mod preauthorized_serial;
pub mod problem;
pub mod problem_device;
pub mod rollout;
pub mod rollout_bundle;
pub mod rollout_device;
pub mod trust_root;
pub mod user;
