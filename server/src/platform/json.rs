//! JSON columns: writing a value into one and reading it back. A stored
//! value that no longer reads as its type is corrupt data (500, logged),
//! never the caller's fault.

use serde::{de::DeserializeOwned, Serialize};

use super::error::{Error, Result};

/// `v` as a JSON column value.
pub fn to_json(v: &impl Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::Internal(anyhow::Error::from(e)))
}

/// A JSON column read back as `T`; `what` names it in the error.
pub fn from_json<T: DeserializeOwned>(v: &serde_json::Value, what: &str) -> Result<T> {
    T::deserialize(v).map_err(|e| Error::corrupt(what, e))
}

/// An optional JSON column read back as `T`.
pub fn from_json_opt<T: DeserializeOwned>(
    v: Option<&serde_json::Value>,
    what: &str,
) -> Result<Option<T>> {
    v.map(|v| from_json(v, what)).transpose()
}
