//! The fleet: the boxes themselves and what they report. Devices and their
//! enrolment, the in-memory device directory check-ins read, who was heard
//! from, health telemetry (stored, rolled up by the hour, read as series),
//! the fault catalog, fleet problems (one fault across many boxes) and
//! the fleet summary.
//!
//! Architecture Invariant: telemetry storage never calls upward. The write
//! path of events lives in `intake`, which fans new faults out to problems
//! here and then to tickets in `support`.

pub mod catalog;
pub mod devices;
pub mod directory;
pub mod presence;
pub mod problems;
pub mod summary;
pub mod telemetry;
pub mod views;
