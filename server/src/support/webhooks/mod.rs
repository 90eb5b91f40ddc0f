//! Outbound webhooks: the events and their signature ([`rules`]), the
//! transactional outbox ([`outbox`]), the sender job ([`sender`]) and
//! `/api/v1/webhooks` ([`routes`]).

pub mod outbox;
pub mod routes;
pub mod rules;
pub mod sender;
