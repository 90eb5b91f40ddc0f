//! The real `wavecast` CLI binary against a running server.

use std::process::Output;

use wavecast_e2e::{bin, TestApp};

async fn wavecast(app: &TestApp, token: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(bin::path("wavecast"));
    cmd.env_remove("WAVECAST_TOKEN")
        .env("WAVECAST_SERVER", &app.address)
        .args(args);
    if let Some(t) = token {
        cmd.env("WAVECAST_TOKEN", t);
    }
    cmd.output().await.expect("wavecast runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn cli_manages_users_tokens_and_reads_audit(app: TestApp) {
    let admin = Some(app.admin_token.as_str());
    let me = wavecast(&app, admin, &["whoami"]).await;
    assert!(me.status.success(), "{}", stderr(&me));
    assert!(stdout(&me).contains("admin"), "{}", stdout(&me));

    let created = wavecast(
        &app,
        admin,
        &["users", "create", "fiona", "--role", "support"],
    )
    .await;
    assert!(created.status.success(), "{}", stderr(&created));
    assert!(stdout(&created).contains("fiona"));

    let token = wavecast(
        &app,
        admin,
        &["tokens", "create", "--name", "desk", "--user", "fiona"],
    )
    .await;
    assert!(token.status.success(), "{}", stderr(&token));
    let fiona = stdout(&token).trim().to_owned();
    assert!(fiona.starts_with("wc_"), "{fiona}");

    let who = wavecast(&app, Some(&fiona), &["--json", "whoami"]).await;
    let who: serde_json::Value = serde_json::from_slice(&who.stdout).expect("json");
    assert_eq!(who["user"]["role"], "support");

    let audit = wavecast(&app, admin, &["audit", "list", "--action", "user.create"]).await;
    assert!(audit.status.success(), "{}", stderr(&audit));
    assert!(stdout(&audit).contains("user:fiona"), "{}", stdout(&audit));

    let list = wavecast(
        &app,
        admin,
        &["--json", "tokens", "list", "--user", "fiona"],
    )
    .await;
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let id = list[0]["id"].as_str().expect("token id").to_owned();
    let revoke = wavecast(&app, admin, &["tokens", "revoke", &id]).await;
    assert!(revoke.status.success(), "{}", stderr(&revoke));
    let denied = wavecast(&app, Some(&fiona), &["whoami"]).await;
    assert!(!denied.status.success());
    assert!(stderr(&denied).contains("revoked"), "{}", stderr(&denied));
}

async fn cli_errors_are_one_clear_line(app: TestApp) {
    let none = wavecast(&app, None, &["users", "list"]).await;
    assert_eq!(none.status.code(), Some(1));
    let err = stderr(&none);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("401") && err.contains("WAVECAST_TOKEN"),
        "{err}"
    );

    let viewer = app.user_with_role("vic", "viewer").await;
    let forbidden = wavecast(
        &app,
        Some(&viewer),
        &["users", "create", "x", "--role", "admin"],
    )
    .await;
    assert_eq!(forbidden.status.code(), Some(1));
    assert!(stderr(&forbidden).contains("403"), "{}", stderr(&forbidden));
}

async fn cli_manages_devices(app: TestApp) {
    let admin = Some(app.admin_token.as_str());
    let env = crate::devices::claim("SN-CLI-1", &wavecast_e2e::trust::key(90), 0);
    assert_eq!(crate::devices::enrol(&app, &env).await.status, 202);
    let pending = wavecast(&app, admin, &["device", "list", "--status", "pending"]).await;
    assert!(
        stdout(&pending).contains("SN-CLI-1"),
        "{}",
        stdout(&pending)
    );
    let accepted = wavecast(&app, admin, &["device", "accept", "SN-CLI-1"]).await;
    assert!(accepted.status.success(), "{}", stderr(&accepted));
    assert!(stdout(&accepted).contains("accepted"));
    let placed = wavecast(
        &app,
        admin,
        &[
            "device", "set", "SN-CLI-1", "--region", "north", "--tag", "vip", "--tag", "lab",
        ],
    )
    .await;
    assert!(placed.status.success(), "{}", stderr(&placed));
    assert_eq!(
        stdout(&placed).trim(),
        "SN-CLI-1: region north, tags lab, vip"
    );
    let cleared = wavecast(&app, admin, &["device", "set", "SN-CLI-1", "--no-region"]).await;
    assert_eq!(stdout(&cleared).trim(), "SN-CLI-1: region -, tags lab, vip");
    let nothing = wavecast(&app, admin, &["device", "set", "SN-CLI-1"]).await;
    assert!(!nothing.status.success());
    assert!(
        stderr(&nothing).contains("nothing to set"),
        "{}",
        stderr(&nothing)
    );
    let dir = tempfile::tempdir().expect("dir");
    let csv = dir.path().join("serials.csv");
    std::fs::write(&csv, "serial,model\nSN-CLI-2,X1\nSN-CLI-3,X1\n").expect("write");
    let imported = wavecast(
        &app,
        admin,
        &["device", "import", csv.to_str().expect("utf8")],
    )
    .await;
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert!(
        stdout(&imported).contains("2 serials pre-authorised"),
        "{}",
        stdout(&imported)
    );
    let gone = wavecast(&app, admin, &["device", "decommission", "SN-CLI-1"]).await;
    assert!(stdout(&gone).contains("decommissioned"));
    let missing = wavecast(&app, admin, &["device", "show", "SN-NOPE"]).await;
    assert!(stderr(&missing).contains("404"), "{}", stderr(&missing));
}

/// `wavecast audit list | head -n 1`: the reader goes away after a line;
/// the CLI ends quietly instead of panicking on the closed pipe.
async fn a_closed_pipe_ends_the_cli_quietly(app: TestApp) {
    for i in 0..60 {
        let u = app
            .post(
                "/api/v1/users",
                Some(&app.admin_token),
                &serde_json::json!({ "name": format!("user-{i}"), "role": "viewer" }),
            )
            .await;
        assert_eq!(u.status, 201, "{}", u.body);
    }
    let out = tokio::process::Command::new("bash")
        .args([
            "-c",
            "set -o pipefail; \"$WAVECAST\" audit list --limit 200 | head -n 1",
        ])
        .env("WAVECAST", bin::path("wavecast"))
        .env("WAVECAST_SERVER", &app.address)
        .env("WAVECAST_TOKEN", &app.admin_token)
        .output()
        .await
        .expect("bash runs");
    assert!(
        out.status.success(),
        "wavecast failed on the closed pipe: {}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
}

/// `config show` masks every password, the MQTT broker's too.
#[test]
fn config_show_masks_passwords() {
    let out = std::process::Command::new(bin::path("wavecast"))
        .args(["config", "show"])
        .env(
            "WAVECAST__DATABASE__URL",
            "postgres://wavecast:db-secret@db/wavecast",
        )
        .env("WAVECAST__MQTT__MODE", "external")
        .env(
            "WAVECAST__MQTT__URL",
            "mqtt://wavecast:mqtt-secret@broker:1883",
        )
        .output()
        .expect("wavecast runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(
        !shown.contains("db-secret") && !shown.contains("mqtt-secret"),
        "{shown}"
    );
    assert!(shown.contains("mqtt://wavecast:***@broker:1883"), "{shown}");
}

wavecast_e2e::both_backends!(
    a_closed_pipe_ends_the_cli_quietly,
    cli_manages_users_tokens_and_reads_audit,
    cli_errors_are_one_clear_line,
    cli_manages_devices,
);
