//! Boxes that already run a hawkBit client (SWUpdate's suricatta,
//! rauc-hawkbit-updater) join without new software through hawkBit's
//! Direct Device Integration API: `rules.rs` (actions, feedback mapping,
//! attributes), `store.rs` (targets, tokens, actions), `auth.rs`
//! (`TargetToken` / `GatewayToken`; `gateway.rs` holds the latter), `routes.rs` (the DDI API),
//! `targets.rs` (the operator API for DDI boxes), `views.rs` (bodies).

pub mod auth;
pub mod gateway;
pub mod routes;
pub mod rules;
pub mod store;
pub mod targets;
pub mod views;
