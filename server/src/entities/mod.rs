//! sea-orm entities: one module per table. Only the SQL edge uses them;
//! domain rules work on plain types.

pub mod api_token;
pub mod audit_log;
pub mod bundle;
pub mod bundle_artifact;
pub mod device;
pub mod keyring;
pub mod preauthorized_serial;
pub mod trust_root;
pub mod user;
