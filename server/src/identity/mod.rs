//! Who is calling and what they may do: users and their roles, API tokens
//! (and the token format every credential shares), the `Auth<P>`
//! extractor every management route takes, the audit log written in the
//! transaction of every change, the first administrator made on an
//! empty database, and the web console's passwords and sessions.

pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod caller;
pub mod passwords;
pub mod roles;
pub mod sessions;
pub mod tokens;
pub mod users;
pub mod views;
