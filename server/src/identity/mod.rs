//! Who is calling and what they may do: users and their roles, API tokens
//! (and the token format every credential shares), the `Auth<P>`
//! extractor every management route takes, the audit log written in the
//! transaction of every change, and the first administrator made on an
//! empty database.

pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod caller;
pub mod roles;
pub mod tokens;
pub mod users;
pub mod views;
