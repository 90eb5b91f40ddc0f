//! `TestApp`: the real server started in-process on port 0, with a fresh
//! database, its first admin's token and typed request helpers.

use reqwest::{Method, StatusCode};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use wavecast_server::{
    platform::{
        clock::Clock,
        config::{Config, SecretUrl},
        jobs::Jobs,
    },
    startup::Application,
};

/// The database backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server for one test.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` for a server
    /// serving HTTPS itself ([`TestApp::spawn_https`]).
    pub address: String,
    /// The CA (PEM file) that signed the server's certificate, when it
    /// serves HTTPS; `http` trusts it.
    pub ca_file: Option<std::path::PathBuf>,
    /// An admin token made with the bootstrap token.
    pub admin_token: String,
    /// The one-time bootstrap token, spent on `admin_token`.
    pub bootstrap_token: String,
    pub backend: Backend,
    pub http: reqwest::Client,
    pub config: Config,
    /// The embedded MQTT broker's port, when it runs.
    pub mqtt_port: Option<u16>,
    /// Holds the SQLite file and blobs; removed when the test ends.
    pub dir: tempfile::TempDir,
    /// The server's clock: tests move it forward instead of sleeping
    /// (for a server in this process; a separate process keeps its own).
    pub clock: Clock,
    /// The server's background jobs, to run one now.
    pub jobs: Jobs,
}

/// An answer: status, content type and body as JSON (or `Null`).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// Reads a response into an answer.
    pub async fn read(res: reqwest::Response) -> Answer {
        let status = res.status();
        let headers = res.headers().clone();
        let content_type = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = res.bytes().await.expect("body read");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            content_type,
            headers,
            body,
        }
    }

    /// Decodes the body into `T`, panicking with the body on failure.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.body.clone())
            .unwrap_or_else(|e| panic!("cannot decode {}: {e}", self.body))
    }

    /// Asserts an RFC 9457 problem with this status and returns its detail.
    pub fn problem(&self, status: u16) -> String {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.content_type, "application/problem+json");
        assert_eq!(self.body["status"], status);
        self.body["detail"].as_str().unwrap_or_default().to_owned()
    }
}

impl TestApp {
    /// Starts a server on a fresh database. `None` only when PostgreSQL is
    /// explicitly skipped.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like [`TestApp::spawn`], letting the test adjust the configuration.
    pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
        Self::spawn_inner(backend, adjust, true, false).await
    }

    /// Like [`TestApp::spawn_with`], but the bootstrap token is left
    /// unused: `admin_token` is the bootstrap token itself (the first
    /// token or user created with it ends it).
    pub async fn spawn_unspent(
        backend: Backend,
        adjust: impl FnOnce(&mut Config),
    ) -> Option<TestApp> {
        Self::spawn_inner(backend, adjust, false, false).await
    }

    /// Like [`TestApp::spawn_with`], serving HTTPS itself (`http.tls`) with
    /// a `localhost` certificate from a CA made for this test; `address`
    /// is `https://localhost:PORT` and `http` trusts that CA.
    pub async fn spawn_https(
        backend: Backend,
        adjust: impl FnOnce(&mut Config),
    ) -> Option<TestApp> {
        Self::spawn_inner(backend, adjust, true, true).await
    }

    async fn spawn_inner(
        backend: Backend,
        adjust: impl FnOnce(&mut Config),
        spend_bootstrap: bool,
        https: bool,
    ) -> Option<TestApp> {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}", dir.path().join("wavecast.db").display()),
            Backend::Postgres => match crate::pg::source() {
                crate::pg::Source::Skipped => return None,
                crate::pg::Source::Server { admin_url } => crate::pg::fresh_database(&admin_url)
                    .await
                    .expect("fresh PostgreSQL database"),
            },
        };
        let mut config = Config::default();
        config.http.bind = "127.0.0.1:0".parse().expect("addr");
        config.http.workers = 1;
        config.database.url = SecretUrl(url);
        config.database.max_connections = 8;
        config.blobs.dir = dir.path().join("blobs");
        config.mqtt.listen = "127.0.0.1:0".parse().expect("addr");
        // No check-in key unless the test gives one (`trust::server_signs`):
        // the default path is relative to wherever the tests run.
        config.signing.key_file = None;
        let ca_file = https.then(|| {
            let authority = crate::tls::ca("Wavecast test CA").expect("ca");
            let (chain, key, _) = crate::tls::leaf(&authority, 1).expect("certificate");
            let (cert_file, key_file) = (dir.path().join("tls.pem"), dir.path().join("tls.key"));
            std::fs::write(&cert_file, chain).expect("certificate file");
            std::fs::write(&key_file, key).expect("key file");
            let ca_file = dir.path().join("ca.pem");
            std::fs::write(&ca_file, authority.0.pem()).expect("CA file");
            config.http.tls = Some(wavecast_server::platform::config::HttpTlsConfig {
                cert_file,
                key_file,
                redirect_bind: None,
                hsts_max_age_secs: 0,
            });
            ca_file
        });
        adjust(&mut config);
        if std::env::var_os("TEST_LOG").is_some() {
            wavecast_server::platform::logging::init(&config.log);
        }
        let clock = Clock::system();
        let app = Application::build_with_clock(config.clone(), clock.clone())
            .await
            .expect("the application starts");
        let jobs = app.state.jobs.clone();
        let address = if ca_file.is_some() {
            format!("https://localhost:{}", app.port())
        } else {
            format!("http://127.0.0.1:{}", app.port())
        };
        let mqtt_port = app.mqtt_port;
        let bootstrap_token = app
            .bootstrap_token
            .clone()
            .expect("a fresh database bootstraps an admin");
        tokio::spawn(app.run_until_stopped());
        let http = match &ca_file {
            Some(ca) => reqwest::Client::builder()
                .add_root_certificate(
                    reqwest::Certificate::from_pem(&std::fs::read(ca).expect("CA"))
                        .expect("CA PEM"),
                )
                .build()
                .expect("HTTPS client"),
            None => reqwest::Client::new(),
        };
        if !spend_bootstrap {
            return Some(TestApp {
                address,
                ca_file,
                admin_token: bootstrap_token.clone(),
                bootstrap_token,
                backend,
                http,
                config,
                mqtt_port,
                dir,
                clock,
                jobs,
            });
        }
        // As a new operator does: a lasting token made with the one-time
        // bootstrap token, which then stops working.
        let created = http
            .post(format!("{address}/api/v1/tokens"))
            .bearer_auth(&bootstrap_token)
            .json(&serde_json::json!({ "name": "tests" }))
            .send()
            .await
            .expect("the server answers");
        assert_eq!(created.status(), 201, "a lasting admin token");
        let created: Value = created.json().await.expect("json");
        let admin_token = created["token"].as_str().expect("token").to_owned();
        Some(TestApp {
            address,
            ca_file,
            admin_token,
            bootstrap_token,
            backend,
            http,
            config,
            mqtt_port,
            dir,
            clock,
            jobs,
        })
    }

    /// Moves the server's clock forward by `secs` seconds.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(std::time::Duration::from_secs(secs));
    }

    /// Runs the background job `job` (`scheduler`, `tickets`, `rollup`,
    /// `webhooks`) now and returns once a run that started after this call
    /// has finished (within 30 s, or the test fails).
    pub async fn run_job(&self, job: &'static str) {
        let kick = self.jobs.kick(job);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !self.jobs.served(job, kick) {
            assert!(
                std::time::Instant::now() < deadline,
                "the {job} job did not run"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Creates a one-wave rollout of `bundles` (`name@version`) to every
    /// box and returns its id. Its wave opens at once when boxes exist,
    /// else at the first scheduler pass after one enrols.
    pub async fn roll_out_to_all(&self, bundles: &[&str]) -> String {
        let created = self
            .post(
                "/api/v1/rollouts",
                Some(&self.admin_token),
                &serde_json::json!({
                    "name": bundles.join(" + "), "bundles": bundles, "waves": [{ "percent": 100 }],
                }),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        created.body["id"].as_str().expect("rollout id").to_owned()
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Answer {
        let mut req = self.http.request(method, format!("{}{path}", self.address));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.expect("request sent");
        Answer::read(res).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.request(Method::GET, path, token, None::<&Value>).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        self.request(Method::POST, path, token, Some(body)).await
    }

    /// The server's `/metrics` text, read as the admin.
    pub async fn metrics_text(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.address))
            .bearer_auth(&self.admin_token)
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// Uploads a bundle file's bytes as the admin.
    pub async fn upload(&self, file: Vec<u8>) -> Answer {
        self.upload_as(&self.admin_token, file, "").await
    }

    /// Uploads a bundle file and publishes it as `reference`
    /// (`name@version`), as the admin; both must succeed.
    pub async fn upload_and_publish(&self, file: Vec<u8>, reference: &str) {
        let up = self.upload(file).await;
        assert_eq!(up.status, 201, "upload of {reference}: {}", up.body);
        let p = self
            .post(
                &format!("/api/v1/bundles/{reference}/publish"),
                Some(&self.admin_token),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(p.status, 200, "publishing {reference}: {}", p.body);
    }

    /// Uploads bytes with a token and a query string (e.g. `?sign=server`).
    pub async fn upload_as(&self, token: &str, file: Vec<u8>, query: &str) -> Answer {
        let res = self
            .http
            .post(format!("{}/api/v1/bundles{query}", self.address))
            .bearer_auth(token)
            .header("content-type", "application/octet-stream")
            .body(file)
            .send()
            .await
            .expect("upload sent");
        Answer::read(res).await
    }

    /// Pre-authorises serials (a manufacturing CSV body) as the admin.
    pub async fn import_serials(&self, csv: &str) -> Answer {
        let res = self
            .http
            .post(format!("{}/api/v1/devices/import", self.address))
            .bearer_auth(&self.admin_token)
            .body(csv.to_owned())
            .send()
            .await
            .expect("import sent");
        Answer::read(res).await
    }

    /// Stored blobs and unfinished blob writes in the blob directory.
    pub fn blob_files(&self) -> (usize, usize) {
        let root = &self.config.blobs.dir;
        let count = |p: std::path::PathBuf| std::fs::read_dir(p).map(|d| d.count()).unwrap_or(0);
        let stored = std::fs::read_dir(root.join("sha256"))
            .map(|shards| shards.filter_map(|s| s.ok()).map(|s| count(s.path())).sum())
            .unwrap_or(0);
        (stored, count(root.join("tmp")))
    }

    /// Asserts that no bundle is recorded and no blob is stored.
    pub async fn assert_nothing_stored(&self) {
        let list = self.get("/api/v1/bundles", Some(&self.admin_token)).await;
        assert_eq!(list.body, serde_json::json!([]), "no bundle recorded");
        let left: Vec<_> = std::fs::read_dir(self.config.blobs.dir.join("tmp"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| (e.file_name(), e.metadata().map(|m| m.len()).ok()))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            self.blob_files(),
            (0, 0),
            "no blob or partial write left: {left:?}"
        );
    }

    /// Creates a user with `role` (as the admin) and returns a token of theirs.
    pub async fn user_with_role(&self, name: &str, role: &str) -> String {
        let admin = Some(self.admin_token.as_str());
        let created = self
            .post(
                "/api/v1/users",
                admin,
                &serde_json::json!({ "name": name, "role": role }),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let token = self
            .post(
                "/api/v1/tokens",
                admin,
                &serde_json::json!({ "name": "test", "user": name }),
            )
            .await;
        assert_eq!(token.status, StatusCode::CREATED, "{}", token.body);
        token.body["token"].as_str().expect("token text").to_owned()
    }
}
