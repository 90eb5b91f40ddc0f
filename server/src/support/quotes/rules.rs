//! Paid-repair quotes on post-warranty tickets, as pure rules: who may get
//! one, what a valid quote is, and its lifecycle.
//!
//! ```text
//! proposed ──accept──→ accepted
//!     └─────decline──→ declined     (an answer is final)
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::support::tickets::rules::TicketKind;

/// Where a quote stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QuoteStatus {
    /// Waiting for the subscriber's answer.
    Proposed,
    Accepted,
    Declined,
}

crate::platform::text::text_enum!(QuoteStatus, "quote status", Proposed => "proposed", Accepted => "accepted", Declined => "declined");

/// A repair quote as a ticket stores and shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Quote {
    /// In the currency's minor unit (cents).
    pub amount_minor: i64,
    /// ISO 4217, such as `EUR`.
    pub currency: String,
    pub note: Option<String>,
    pub status: QuoteStatus,
    pub quoted_by: String,
    pub quoted_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
}

/// Largest amount a quote may name, in minor units.
pub const MAX_AMOUNT_MINOR: i64 = 100_000_000;

impl Quote {
    /// A new quote, or why its figures are not acceptable.
    pub fn propose(
        amount_minor: i64,
        currency: &str,
        note: Option<String>,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Self, String> {
        if !(1..=MAX_AMOUNT_MINOR).contains(&amount_minor) {
            return Err(format!(
                "amount_minor must be between 1 and {MAX_AMOUNT_MINOR}"
            ));
        }
        if currency.len() != 3 || !currency.bytes().all(|c| c.is_ascii_uppercase()) {
            return Err("currency must be an ISO 4217 code such as EUR".into());
        }
        Ok(Self {
            amount_minor,
            currency: currency.to_owned(),
            note,
            status: QuoteStatus::Proposed,
            quoted_by: by.to_owned(),
            quoted_at: at,
            answered_at: None,
        })
    }

    /// Records the subscriber's answer, or why it cannot be taken: a quote
    /// is answered once.
    pub fn answer(&mut self, accepted: bool, at: DateTime<Utc>) -> Result<(), String> {
        if self.status != QuoteStatus::Proposed {
            return Err(format!("the quote was already {}", self.status));
        }
        self.status = if accepted {
            QuoteStatus::Accepted
        } else {
            QuoteStatus::Declined
        };
        self.answered_at = Some(at);
        Ok(())
    }
}

/// Whether a ticket of `kind` may get a quote: only post-warranty repairs.
pub fn may_quote(kind: TicketKind) -> Result<(), String> {
    if kind == TicketKind::Repair {
        Ok(())
    } else {
        Err(format!(
            "it is a {kind} ticket; quotes are for repair (post-warranty) tickets"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).expect("valid")
    }

    #[test]
    fn a_quote_is_answered_once() {
        let mut q = Quote::propose(12_000, "EUR", None, "ines", at(0)).expect("valid");
        assert_eq!(q.status, QuoteStatus::Proposed);
        q.answer(true, at(60)).expect("first answer");
        assert_eq!(
            (q.status, q.answered_at),
            (QuoteStatus::Accepted, Some(at(60)))
        );
        let e = q.answer(false, at(120)).expect_err("second answer");
        assert!(e.contains("already accepted"), "{e}");
        assert_eq!(q.status, QuoteStatus::Accepted, "unchanged");
    }

    #[test]
    fn figures_are_checked() {
        assert!(Quote::propose(0, "EUR", None, "x", at(0)).is_err());
        assert!(Quote::propose(MAX_AMOUNT_MINOR + 1, "EUR", None, "x", at(0)).is_err());
        assert!(Quote::propose(100, "eur", None, "x", at(0)).is_err());
        assert!(Quote::propose(100, "EURO", None, "x", at(0)).is_err());
    }

    #[test]
    fn only_repairs_are_quoted() {
        assert!(may_quote(TicketKind::Repair).is_ok());
        assert!(may_quote(TicketKind::Warranty).is_err());
        assert!(may_quote(TicketKind::Support).is_err());
    }

    #[test]
    fn the_stored_shape_is_unchanged() {
        let q = Quote::propose(500, "USD", Some("new PSU".into()), "ines", at(0)).expect("valid");
        let v = serde_json::to_value(&q).expect("serialises");
        assert_eq!(v["status"], "proposed");
        assert!(v.get("answered_at").is_none(), "{v}");
        let back: Quote = serde_json::from_value(v).expect("reads back");
        assert_eq!(back, q);
    }
}
