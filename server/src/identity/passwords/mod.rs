//! Passwords for the web console: the policy and Argon2id hashing
//! ([`rules`]), setting one (which ends the user's console sessions) with
//! the hashing off the async workers ([`store`]), and the API: a user's
//! own change and an admin's reset ([`routes`]).

pub mod routes;
pub mod rules;
pub mod store;
