//! Updates: what the server ships to boxes and how. The trust anchors
//! (root key and keyrings), signed bundles (upload, lifecycle, artifact
//! downloads), rollouts in waves (rules, scheduler, health gates), the
//! check-in that answers a box with signed offers, and install status
//! reports.

pub mod bundles;
pub mod checkin;
pub mod installs;
pub mod rollouts;
pub mod trust;
pub mod views;
