//! API tokens: the token format every credential shares (operator
//! tokens, device credentials, subscriber tokens, survey links:
//! [`rules`]) and `/api/v1/tokens` ([`routes`]).

pub mod routes;
pub mod rules;
