//! Outbound webhook rules: which events there are ([`WebhookEvent`]), which
//! an endpoint subscribed to, how a delivery is signed (HMAC-SHA256 over the
//! timestamp and the body, so a receiver can refuse replays and forgeries),
//! how long to wait before retrying, and which URLs may receive them.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What happened, as an outside helpdesk is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WebhookEvent {
    #[serde(rename = "ticket.opened")]
    TicketOpened,
    #[serde(rename = "ticket.reopened")]
    TicketReopened,
    #[serde(rename = "ticket.updated")]
    TicketUpdated,
    #[serde(rename = "ticket.assigned")]
    TicketAssigned,
    #[serde(rename = "ticket.commented")]
    TicketCommented,
    #[serde(rename = "ticket.resolved")]
    TicketResolved,
    #[serde(rename = "ticket.closed")]
    TicketClosed,
    #[serde(rename = "ticket.sla_warning")]
    SlaWarning,
    #[serde(rename = "ticket.sla_breached")]
    SlaBreached,
    #[serde(rename = "ticket.quote")]
    Quote,
    #[serde(rename = "ticket.quote_answered")]
    QuoteAnswered,
    #[serde(rename = "ticket.rma")]
    Rma,
    #[serde(rename = "survey.ready")]
    SurveyReady,
    #[serde(rename = "survey.answered")]
    SurveyAnswered,
}

crate::platform::text::text_enum!(
    WebhookEvent, "webhook event",
    TicketOpened => "ticket.opened",
    TicketReopened => "ticket.reopened",
    TicketUpdated => "ticket.updated",
    TicketAssigned => "ticket.assigned",
    TicketCommented => "ticket.commented",
    TicketResolved => "ticket.resolved",
    TicketClosed => "ticket.closed",
    SlaWarning => "ticket.sla_warning",
    SlaBreached => "ticket.sla_breached",
    Quote => "ticket.quote",
    QuoteAnswered => "ticket.quote_answered",
    Rma => "ticket.rma",
    SurveyReady => "survey.ready",
    SurveyAnswered => "survey.answered",
);

/// Every event, subscribed to with `"*"`.
pub const ALL_EVENTS: &str = "*";

/// Whether an endpoint subscribed to `names` wants `event`.
pub fn wants(names: &[String], event: WebhookEvent) -> bool {
    names.iter().any(|n| n == ALL_EVENTS || n == event.as_str())
}

/// Checks an endpoint's subscription: 1 to 50 known event names, or `"*"`.
pub fn check_events(names: &[String]) -> Result<(), String> {
    if names.is_empty() || names.len() > 50 {
        return Err("events must name 1 to 50 events, or \"*\"".into());
    }
    for n in names {
        if n != ALL_EVENTS {
            n.parse::<WebhookEvent>()?;
        }
    }
    Ok(())
}

/// The header carrying the signature: `t=UNIX_SECONDS,v1=HEX`.
pub const SIGNATURE_HEADER: &str = "x-wavecast-signature";

/// Longest wait between attempts: an hour.
pub const MAX_BACKOFF_SECS: i64 = 3600;

/// The signature header's value for `body` sent at `timestamp`: HMAC-SHA256
/// with `secret` over `"{timestamp}.{body}"`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Seconds to wait after failed attempt number `attempt` (1-based): 1, 2,
/// 4, … doubling, at most [`MAX_BACKOFF_SECS`].
pub fn backoff_secs(attempt: u32) -> i64 {
    let exp = attempt.saturating_sub(1).min(20);
    (1i64 << exp).min(MAX_BACKOFF_SECS)
}

/// Checks a webhook URL: absolute http(s) with a host, at most 2000 bytes.
pub fn check_url(url: &str) -> Result<(), String> {
    if url.len() > 2000 {
        return Err("url is longer than 2000 bytes".into());
    }
    let parsed = url::Url::parse(url).map_err(|e| format!("url is not a valid URL: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err("url must be an http or https URL with a host".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_name_known_events() {
        let all = vec!["*".to_owned()];
        assert!(wants(&all, WebhookEvent::SurveyReady));
        let some = vec!["ticket.opened".to_owned()];
        assert!(wants(&some, WebhookEvent::TicketOpened));
        assert!(!wants(&some, WebhookEvent::TicketClosed));
        assert!(check_events(&all).is_ok());
        assert!(check_events(&some).is_ok());
        assert!(check_events(&[]).is_err());
        let e = check_events(&["ticket.opend".to_owned()]).expect_err("a typo");
        assert!(e.contains("ticket.opened"), "{e}");
        assert_eq!(
            serde_json::to_value(WebhookEvent::SlaBreached).ok(),
            Some(serde_json::json!("ticket.sla_breached"))
        );
    }

    #[test]
    fn the_signature_covers_time_and_body() {
        let s = signature("secret", 1_700_000_000, b"{\"a\":1}");
        assert!(s.starts_with("t=1700000000,v1="), "{s}");
        assert_eq!(s.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(s, signature("secret", 1_700_000_001, b"{\"a\":1}"));
        assert_ne!(s, signature("secret", 1_700_000_000, b"{\"a\":2}"));
        assert_ne!(s, signature("other", 1_700_000_000, b"{\"a\":1}"));
        // RFC 4231 test case 2 ("Jefe"), to pin the construction to HMAC-SHA256.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let waits: Vec<i64> = (1..=6).map(backoff_secs).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32]);
        assert_eq!(backoff_secs(13), 3600);
        assert_eq!(backoff_secs(u32::MAX), 3600);
        assert_eq!(backoff_secs(0), 1);
    }

    #[test]
    fn urls_are_checked() {
        assert!(check_url("https://helpdesk.example.net/hooks/wavecast").is_ok());
        assert!(check_url("http://127.0.0.1:9000/x").is_ok());
        assert!(check_url("ftp://example.net/").is_err());
        assert!(check_url("not a url").is_err());
        assert!(check_url(&format!("https://e.net/{}", "a".repeat(2000))).is_err());
    }
}
