//! Parsing what requests carry that every feature's routes share: a
//! list's `?limit=`, and body fields where `null` means "clear it".

use serde::{Deserialize, Serialize};

use crate::platform::error::{Error, Result};

/// A page of a list with the count of everything that matched
/// (`?limit=&offset=` lists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counted<T> {
    pub total: u64,
    pub items: Vec<T>,
}

/// A list's `?limit=`: `default` when not given, refused (422) outside
/// 1..=`max`.
pub fn limit(asked: Option<u64>, default: u64, max: u64) -> Result<u64> {
    let limit = asked.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(Error::Validation(format!(
            "limit must be between 1 and {max}"
        )))
    }
}

/// For `#[serde(default, deserialize_with = "present")]` on an
/// `Option<Option<T>>` field: absent is `None`, `null` is `Some(None)`
/// (clear it), a value is `Some(Some(v))`. Plain `#[serde(default)]` would
/// read `null` as absent.
pub fn present<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// A field checked by one of the `platform::text` newtypes, its message
/// as a validation error (422).
pub fn checked<T>(r: std::result::Result<T, String>) -> Result<T> {
    r.map_err(Error::Validation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_refuse_out_of_range() {
        assert_eq!(limit(None, 100, 1000).ok(), Some(100));
        assert_eq!(limit(Some(1000), 100, 1000).ok(), Some(1000));
        assert!(limit(Some(0), 100, 1000).is_err());
        assert!(limit(Some(1001), 100, 1000).is_err());
    }

    #[test]
    fn null_is_not_absent() {
        #[derive(serde::Deserialize)]
        struct B {
            #[serde(default, deserialize_with = "present")]
            x: Option<Option<String>>,
        }
        let absent: B = serde_json::from_str("{}").expect("parses");
        let null: B = serde_json::from_str(r#"{"x":null}"#).expect("parses");
        let value: B = serde_json::from_str(r#"{"x":"v"}"#).expect("parses");
        assert_eq!(absent.x, None);
        assert_eq!(null.x, Some(None));
        assert_eq!(value.x, Some(Some("v".into())));
    }
}
