//! The audit log: written in the transaction of every change ([`store`],
//! with [`store::audited`] for "change, audit entry, commit") and read
//! back by admins ([`routes`]).

pub mod routes;
pub mod store;
