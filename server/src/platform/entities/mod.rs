//! sea-orm entities: one module per table, as the migrations made them.
//! Only the stores use them; rules work on plain types. Enum-like columns
//! read as the features' enums ([`columns`]).

pub mod api_token;
pub mod audit_log;
pub mod bundle;
pub mod bundle_artifact;
pub mod columns;
pub mod console_session;
pub mod ddi_action;
pub mod ddi_target;
pub mod device;
pub mod device_event;
pub mod device_event_drop;
pub mod enrol_claim;
pub mod fault_catalog;
pub mod health_hourly;
pub mod install_step;
pub mod job_mark;
pub mod keyring;
pub mod lease;
pub mod licence;
pub mod licence_activation;
pub mod licence_policy;
pub mod licence_validation;
pub mod model_warranty;
pub mod plan;
pub mod preauthorized_serial;
pub mod problem;
pub mod problem_device;
pub mod product;
pub mod rollout;
pub mod rollout_bundle;
pub mod rollout_device;
pub mod rollout_snapshot;
pub mod sign_in_failure;
pub mod sla_policy;
pub mod subscriber;
pub mod subscriber_token;
pub mod support_agent;
pub mod survey;
pub mod ticket;
pub mod ticket_log;
pub mod trust_root;
pub mod user;
pub mod webhook;
pub mod webhook_delivery;
