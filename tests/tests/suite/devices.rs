//! Device enrolment: proof of key possession, pending until accepted or
//! pre-authorised, hashed credentials, re-enrolment, clones refused,
//! decommissioning; devices see only themselves.

use ed25519_dalek::SigningKey;
use reqwest::Method;
use serde_json::{json, Value};
use wavecast_e2e::{trust::key, TestApp};
use wavecast_protocol::{device::EnrolClaim, envelope::Envelope, keys::public_key_text};

pub(crate) fn claim(serial: &str, key: &SigningKey, skew: i64) -> Envelope {
    EnrolClaim {
        serial: serial.into(),
        model: "X1".into(),
        hardware_revision: "A".into(),
        public_key: public_key_text(&key.verifying_key()),
        timestamp: chrono::Utc::now().timestamp() + skew,
        agent_version: Some("0.1.0".into()),
    }
    .sign(key)
    .expect("sign")
}

pub(crate) async fn enrol(app: &TestApp, env: &Envelope) -> wavecast_e2e::app::Answer {
    app.post(
        "/api/v1/device/enrol",
        None,
        &serde_json::to_value(env).expect("json"),
    )
    .await
}

async fn operator(app: &TestApp) -> String {
    app.user_with_role("ops", "operator").await
}

async fn pending_until_accepted_then_credential(app: TestApp) {
    let k = key(10);
    let first = enrol(&app, &claim("SN-1", &k, -1)).await;
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(first.body["status"], "pending");
    assert!(first.body.get("credential").is_none());
    let op = operator(&app).await;
    let a = app
        .post("/api/v1/devices/SN-1/accept", Some(&op), &json!({}))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let second = enrol(&app, &claim("SN-1", &k, 0)).await;
    assert_eq!(second.status, 200, "{}", second.body);
    let cred = second.body["credential"]
        .as_str()
        .expect("credential")
        .to_owned();
    assert!(cred.starts_with("wcd_"));
    let me = app.get("/api/v1/device/self", Some(&cred)).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["serial"], "SN-1");
    // The server keeps only a hash: the listing shows the prefix, never the secret.
    let listed = app.get("/api/v1/devices", Some(&op)).await;
    assert!(!listed.body.to_string().contains(&cred));
    assert!(cred.starts_with(
        listed.body["items"][0]["credential_prefix"]
            .as_str()
            .expect("prefix")
    ));
}

async fn preauthorized_serials_enrol_at_once(app: TestApp) {
    let op = operator(&app).await;
    let res = app
        .http
        .post(format!("{}/api/v1/devices/import", app.address))
        .bearer_auth(&op)
        .body("serial,model\nSN-10,X1\nSN-11,X1\nSN-12,X2\n")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 200);
    let r: Value = res.json().await.expect("json");
    assert_eq!(r["added"], 3);
    let a = enrol(&app, &claim("SN-11", &key(11), 0)).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["status"], "accepted");
    // Pre-authorised for another model: waits for an operator.
    let b = enrol(&app, &claim("SN-12", &key(12), 0)).await;
    assert_eq!(b.status, 202, "{}", b.body);
    // A pending box is accepted by a later import naming it.
    let c = enrol(&app, &claim("SN-13", &key(13), 0)).await;
    assert_eq!(c.status, 202);
    let res = app
        .http
        .post(format!("{}/api/v1/devices/import", app.address))
        .bearer_auth(&op)
        .body("SN-13\n")
        .send()
        .await
        .expect("sent");
    let r: Value = res.json().await.expect("json");
    assert_eq!(
        (r["added"].clone(), r["accepted"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(enrol(&app, &claim("SN-13", &key(13), 1)).await.status, 200);
    // A bad line refuses the whole file.
    let res = app
        .http
        .post(format!("{}/api/v1/devices/import", app.address))
        .bearer_auth(&op)
        .body("SN-20\nSN-21,X1,extra\n")
        .send()
        .await
        .expect("sent");
    assert_eq!(res.status(), 422);
    let listed = app.get("/api/v1/devices?status=pending", Some(&op)).await;
    assert!(!listed.body.to_string().contains("SN-20"));
}

async fn forged_stale_and_cloned_enrolments_are_refused(app: TestApp) {
    let k = key(20);
    // Signed by another key than the one claimed.
    let mut forged = claim("SN-30", &k, 0);
    forged.signatures.clear();
    forged.sign(&key(21)).expect("sign");
    let d = enrol(&app, &forged).await.problem(422);
    assert!(d.contains("proof of possession"), "{d}");
    let d = enrol(&app, &claim("SN-30", &k, -3600)).await.problem(422);
    assert!(d.contains("clock"), "{d}");
    assert_eq!(enrol(&app, &claim("SN-30", &k, 0)).await.status, 202);
    // The same serial with another key: a clone.
    let d = enrol(&app, &claim("SN-30", &key(22), 0)).await.problem(409);
    assert!(d.contains("another identity key"), "{d}");
    let bad = app
        .post(
            "/api/v1/device/enrol",
            None,
            &json!({ "payloadType": "x", "payload": "!!", "signatures": [] }),
        )
        .await;
    bad.problem(422);
}

async fn a_new_enrolment_replaces_the_credential(app: TestApp) {
    let op = operator(&app).await;
    let k = key(30);
    enrol(&app, &claim("SN-40", &k, -2)).await;
    app.post("/api/v1/devices/SN-40/accept", Some(&op), &json!({}))
        .await;
    let first = enrol(&app, &claim("SN-40", &k, -1)).await.body["credential"].clone();
    let second = enrol(&app, &claim("SN-40", &k, 0)).await.body["credential"].clone();
    assert_ne!(first, second, "a new credential each time");
    let old = first.as_str().expect("cred");
    let new = second.as_str().expect("cred");
    assert_eq!(
        app.get("/api/v1/device/self", Some(old)).await.status,
        401,
        "replaced"
    );
    assert_eq!(app.get("/api/v1/device/self", Some(new)).await.status, 200);
}

async fn decommissioned_devices_are_locked_out(app: TestApp) {
    let op = operator(&app).await;
    let k = key(40);
    enrol(&app, &claim("SN-50", &k, -2)).await;
    app.post("/api/v1/devices/SN-50/accept", Some(&op), &json!({}))
        .await;
    let cred = enrol(&app, &claim("SN-50", &k, -1)).await.body["credential"]
        .as_str()
        .expect("cred")
        .to_owned();
    let a = app
        .post("/api/v1/devices/SN-50/decommission", Some(&op), &json!({}))
        .await;
    assert_eq!(a.body["status"], "decommissioned");
    assert_eq!(
        app.get("/api/v1/device/self", Some(&cred)).await.status,
        401
    );
    let d = enrol(&app, &claim("SN-50", &k, 0)).await.problem(403);
    assert!(d.contains("decommissioned"), "{d}");
    let audit = app
        .get("/api/v1/audit?object_type=device", Some(&app.admin_token))
        .await;
    let actions: Vec<&str> = audit.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["device.decommission", "device.accept", "device.enrol"]
    );
}

async fn credentials_and_tokens_do_not_cross(app: TestApp) {
    let op = operator(&app).await;
    let k = key(50);
    enrol(&app, &claim("SN-60", &k, -1)).await;
    app.post("/api/v1/devices/SN-60/accept", Some(&op), &json!({}))
        .await;
    let cred = enrol(&app, &claim("SN-60", &k, 0)).await.body["credential"]
        .as_str()
        .expect("cred")
        .to_owned();
    // A device credential opens no management route, an operator token no device route.
    app.get("/api/v1/devices", Some(&cred)).await.problem(401);
    app.get("/api/v1/device/self", Some(&op)).await.problem(401);
    // Viewers read the fleet but cannot accept devices.
    let viewer = app.user_with_role("vw", "viewer").await;
    assert_eq!(
        app.get("/api/v1/devices/SN-60", Some(&viewer)).await.status,
        200
    );
    app.request(
        Method::POST,
        "/api/v1/devices/SN-60/reject",
        Some(&viewer),
        Some(&json!({})),
    )
    .await
    .problem(403);
}

/// The fleet list's filters on both backends: inventory matched as JSON
/// (keys in any order; a version of another component does not count),
/// tags whole, region with model, presence, serial prefix.
async fn the_list_filters_by_inventory_tags_region_presence_and_serial(app: TestApp) {
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    use wavecast_server::platform::entities::device;
    let boxes = wavecast_e2e::fleet::enrol_many(&app, 1, 4, "X1", &[]).await;
    let x2 = wavecast_e2e::fleet::enrol_many(&app, 5, 1, "X2", &[]).await;
    let db = wavecast_server::platform::db::connect(&app.config.database)
        .await
        .expect("database");
    let now = app.clock.now();
    let component = |name: &str, version: &str| json!({"name": name, "version": version, "security_version": 1});
    // The inventory comes from check-ins and presence from traffic: both
    // written as stored. Region and tags are set through the API.
    let set = [
        (
            &boxes[0],
            Some("north"),
            json!(["vip", "lab", "vip"]),
            json!([
                component("x1-firmware", "4.2.0"),
                component("codec", "1.0.0")
            ]),
            0,
        ),
        (
            &boxes[1],
            Some("south"),
            json!(["lab-2"]),
            json!([
                component("x1-firmware", "4.1.0"),
                component("codec", "4.2.0")
            ]),
            0,
        ),
        (
            &boxes[2],
            Some(" north "),
            json!([]),
            json!([component("x1-firmware", "4.2.0")]),
            0,
        ),
        (&boxes[3], None, json!([]), json!([]), 2),
        (&x2[0], Some("north"), json!([]), json!([]), 0),
    ];
    let op = operator(&app).await;
    for (b, region, tags, installed, days_silent) in set {
        let id: uuid::Uuid = b.id.parse().expect("device id");
        let row = device::Entity::find_by_id(id)
            .one(&db)
            .await
            .expect("read")
            .expect("enrolled");
        let mut m: device::ActiveModel = row.into();
        m.installed = Set(Some(installed));
        m.last_seen_at = Set(Some(now - chrono::TimeDelta::days(days_silent)));
        m.update(&db).await.expect("update");
        let placed = app
            .request(
                Method::PATCH,
                &format!("/api/v1/devices/{}", b.serial),
                Some(&op),
                Some(&json!({ "region": region, "tags": tags })),
            )
            .await;
        assert_eq!(placed.status, 200, "{}", placed.body);
    }
    // Tags are kept in order, each once; the region without its spaces.
    let first = app.get("/api/v1/devices/SN000001", Some(&op)).await;
    assert_eq!(first.body["tags"], json!(["lab", "vip"]), "{}", first.body);
    let third = app.get("/api/v1/devices/SN000003", Some(&op)).await;
    assert_eq!(third.body["region"], "north");
    // An absent field stays; a bad tag changes nothing; viewers cannot.
    let kept = app
        .request(
            Method::PATCH,
            "/api/v1/devices/SN000001",
            Some(&op),
            Some(&json!({ "tags": ["lab", "vip", "a b"] })),
        )
        .await
        .problem(422);
    assert!(kept.contains("no spaces"), "{kept}");
    let viewer = app.user_with_role("vw", "viewer").await;
    app.request(
        Method::PATCH,
        "/api/v1/devices/SN000001",
        Some(&viewer),
        Some(&json!({ "region": null })),
    )
    .await
    .problem(403);
    app.request(
        Method::PATCH,
        "/api/v1/devices/SN000001",
        Some(&op),
        Some(&json!({ "site": "x" })),
    )
    .await
    .problem(422);
    let audit = app
        .get("/api/v1/audit?action=device.place", Some(&app.admin_token))
        .await;
    let placed = audit.body["items"].as_array().expect("entries");
    assert_eq!(
        placed.len(),
        5,
        "the refused changes are not there: {}",
        audit.body
    );
    assert_eq!(placed[4]["details"]["tags"], json!(["lab", "vip"]));
    let serials = |path: &'static str| {
        let (app, op) = (&app, op.clone());
        async move {
            let a = app.get(&format!("/api/v1/devices?{path}"), Some(&op)).await;
            assert_eq!(a.status, 200, "{path}: {}", a.body);
            let items: Vec<String> = a.body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|d| d["serial"].as_str().expect("serial").to_owned())
                .collect();
            assert_eq!(a.body["total"], items.len() as u64, "{path}");
            items
        }
    };
    assert_eq!(
        serials("installed=x1-firmware@4.2.0").await,
        ["SN000001", "SN000003"]
    );
    assert_eq!(
        serials("installed=x1-firmware").await,
        ["SN000001", "SN000002", "SN000003"]
    );
    assert_eq!(serials("installed=codec@4.2.0").await, ["SN000002"]);
    assert!(serials("installed=x1-firmware@4.3.0").await.is_empty());
    assert_eq!(serials("tag=lab").await, ["SN000001"]);
    assert_eq!(serials("tag=lab-2").await, ["SN000002"]);
    assert_eq!(
        serials("region=north").await,
        ["SN000001", "SN000003", "SN000005"]
    );
    assert_eq!(
        serials("region=north&model=X1").await,
        ["SN000001", "SN000003"]
    );
    assert_eq!(serials("online=false").await, ["SN000004"]);
    assert_eq!(
        serials("online=true&model=X1").await,
        ["SN000001", "SN000002", "SN000003"]
    );
    assert_eq!(serials("q=SN00000").await.len(), 5);
    assert_eq!(serials("q=SN000003").await, ["SN000003"]);
    assert!(
        serials("q=SN%25").await.is_empty(),
        "% is a character, not a wildcard"
    );
    assert!(
        serials("q=SN_").await.is_empty(),
        "_ is a character, not a wildcard"
    );
    let paged = app.get("/api/v1/devices?limit=2&offset=2", Some(&op)).await;
    assert_eq!(paged.body["total"], 5);
    assert_eq!(paged.body["items"][0]["serial"], "SN000003");
    app.get("/api/v1/devices?status=lost", Some(&op))
        .await
        .problem(422);
}

wavecast_e2e::both_backends!(
    the_list_filters_by_inventory_tags_region_presence_and_serial,
    pending_until_accepted_then_credential,
    preauthorized_serials_enrol_at_once,
    forged_stale_and_cloned_enrolments_are_refused,
    a_new_enrolment_replaces_the_credential,
    decommissioned_devices_are_locked_out,
    credentials_and_tokens_do_not_cross,
);
