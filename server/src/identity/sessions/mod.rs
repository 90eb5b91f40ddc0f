//! Console sessions: what makes a session alive, the cookie, the CSRF and
//! origin checks and sign-in throttling as pure rules ([`rules`]); sessions
//! and failed sign-ins in the database, on both backends and shared by
//! every instance ([`store`]).

pub mod rules;
pub mod store;
