//! Helpers of the after-sales tests: subscribers with boxes, a box's
//! tickets, a phone ticket, PATCH and PUT as JSON, and checking a webhook
//! call's signature.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::{app::Answer, TestApp};

pub async fn patch(app: &TestApp, path: &str, token: &str, body: &Value) -> Answer {
    app.request(Method::PATCH, path, Some(token), Some(body))
        .await
}

pub async fn put(app: &TestApp, path: &str, token: &str, body: &Value) -> Answer {
    app.request(Method::PUT, path, Some(token), Some(body))
        .await
}

/// Creates a subscriber and links the boxes named, activated at `activated`.
pub async fn subscriber(
    app: &TestApp,
    account: &str,
    plan: &str,
    agent: Option<&str>,
    serials: &[&str],
    activated: DateTime<Utc>,
) -> String {
    let t = Some(app.admin_token.as_str());
    let s = app
        .post(
            "/api/v1/subscribers",
            t,
            &json!({ "account": account, "name": format!("Subscriber {account}"),
                     "email": format!("{account}@example.net"), "plan": plan,
                     "dedicated_agent": agent }),
        )
        .await;
    assert_eq!(s.status, 201, "{}", s.body);
    for serial in serials {
        let l = app
            .post(
                &format!("/api/v1/subscribers/{account}/devices"),
                t,
                &json!({ "device": serial, "activated_at": activated }),
            )
            .await;
        assert_eq!(l.status, 200, "{}", l.body);
    }
    s.body["id"].as_str().expect("id").to_owned()
}

/// The tickets of the box `serial`.
pub async fn tickets_of(app: &TestApp, serial: &str) -> Vec<Value> {
    let d = app
        .get(&format!("/api/v1/devices/{serial}"), Some(&app.admin_token))
        .await;
    assert_eq!(d.status, 200, "{}", d.body);
    let id = d.body["id"].as_str().expect("id");
    let list = app
        .get(
            &format!("/api/v1/tickets?device={id}"),
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.body.as_array().expect("list").clone()
}

pub fn at(v: &Value) -> DateTime<Utc> {
    v.as_str().expect("time").parse().expect("rfc3339")
}

/// Checks a webhook call's `t=…,v1=…` signature with the endpoint's secret.
pub fn signed_by(secret: &str, signature: &str, body: &[u8]) -> bool {
    let Some((t, v1)) = signature
        .strip_prefix("t=")
        .and_then(|s| s.split_once(",v1="))
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes()) == v1
}

/// Opens a phone ticket for `account` (as support) and returns its id.
pub async fn phone_ticket(
    app: &TestApp,
    support: &str,
    account: &str,
    device: Option<&str>,
) -> i64 {
    let t = app
        .post(
            "/api/v1/tickets",
            Some(support),
            &json!({ "channel": "phone", "subject": format!("{account} calls"),
                     "body": "No picture on HDMI", "subscriber": account, "device": device }),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.body);
    t.body["id"].as_i64().expect("id")
}
