//! Support: the after-sales back office. Tickets (opened by boxes' faults
//! or by staff from any channel) on the SLA clock of the subscriber's
//! plan; plans and their policies; warranty; subscribers and their API;
//! support agents; paid-repair quotes; warranty returns; satisfaction
//! surveys; reports; webhooks to an outside helpdesk; and a box's page
//! with all of that beside its fleet record (`devices`).

pub mod agents;
pub mod devices;
pub mod plans;
pub mod quotes;
pub mod reports;
pub mod rma;
pub mod self_care;
pub mod sla;
pub mod subscribers;
pub mod surveys;
pub mod tickets;
pub mod views;
pub mod warranty;
pub mod webhooks;
