//! RFC 9457 "problem details": the one error body every Wavecast endpoint answers with.

use serde::{Deserialize, Serialize};

/// The media type of a problem body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem details object.
///
/// `type` is a URI naming the kind of problem (Wavecast uses
/// `https://wavecast.dev/problems/<slug>`); `title` is the short, stable
/// summary of that kind; `detail` explains this occurrence in words a person
/// can act on. `request_id` ties the answer to the server's logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    #[serde(rename = "type", default = "about_blank")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

fn about_blank() -> String {
    "about:blank".to_owned()
}

impl Problem {
    /// The base of every Wavecast problem type URI.
    pub const TYPE_BASE: &'static str = "https://wavecast.dev/problems/";

    /// A problem of the given slug (`not-found`, `validation`, ...).
    pub fn new(slug: &str, title: impl Into<String>, status: u16) -> Self {
        Self {
            kind: format!("{}{slug}", Self::TYPE_BASE),
            title: title.into(),
            status,
            detail: None,
            instance: None,
            request_id: None,
        }
    }

    /// Adds the occurrence-specific explanation.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The slug of `type` when it is a Wavecast problem type.
    pub fn slug(&self) -> Option<&str> {
        self.kind.strip_prefix(Self::TYPE_BASE)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.title, self.status)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_rfc_field_names() {
        let p = Problem::new("not-found", "Not found", 404).with_detail("no user named bob");
        let json = serde_json::to_value(&p).expect("serialises");
        assert_eq!(json["type"], "https://wavecast.dev/problems/not-found");
        assert_eq!(json["status"], 404);
        assert!(json.get("instance").is_none(), "absent fields are omitted");
        let back: Problem = serde_json::from_value(json).expect("parses");
        assert_eq!(back, p);
        assert_eq!(back.slug(), Some("not-found"));
    }

    #[test]
    fn missing_type_means_about_blank() {
        let p: Problem =
            serde_json::from_str(r#"{"title":"Teapot","status":418}"#).expect("parses");
        assert_eq!(p.kind, "about:blank");
        assert_eq!(p.slug(), None);
        assert_eq!(p.to_string(), "Teapot (418)");
    }
}
