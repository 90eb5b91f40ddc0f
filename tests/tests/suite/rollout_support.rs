//! Helpers shared by the rollout tests: read a rollout, run the scheduler
//! until it reaches a state (bounded), and find which boxes are offered
//! something now.

use std::time::{Duration, Instant};

use serde_json::Value;
use wavecast_e2e::{fleet::Box_, trust::Keys, TestApp};

/// The rollout as the management API shows it.
pub async fn show(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/api/v1/rollouts/{id}"), Some(&app.admin_token))
        .await
        .body
}

/// Runs the scheduler now, again and again (at most 60 s), until the
/// rollout satisfies `cond`: no waiting for its next tick.
pub async fn wait_for(app: &TestApp, id: &str, what: &str, cond: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = show(app, id).await;
        if cond(&r) {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {r}"
        );
        app.run_job("scheduler").await;
    }
}

/// The indexes of the boxes that are offered something now.
pub async fn offered(app: &TestApp, boxes: &[Box_], keys: &Keys) -> Vec<usize> {
    let root = keys.root.verifying_key();
    let mut out = Vec::new();
    for (i, b) in boxes.iter().enumerate() {
        if !b.check_in(app, &root).await.1.offers.is_empty() {
            out.push(i);
        }
    }
    out
}
