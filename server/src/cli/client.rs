//! A small typed client for the management API; errors come back as the
//! server's problem details, printed in one line.

use anyhow::{anyhow, Context as _};
use reqwest::{Method, StatusCode};
use serde::{de::DeserializeOwned, Serialize};
use wavecast_protocol::Problem;

/// A management API client bound to one server and token.
#[derive(Debug, Clone)]
pub struct Client {
    base: url::Url,
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(server: &str, token: Option<&str>) -> anyhow::Result<Self> {
        let mut base =
            url::Url::parse(server).with_context(|| format!("--server {server:?} is not a URL"))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("wavecast-cli/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            base,
            token: token.map(str::to_owned),
            http,
        })
    }

    fn url(&self, path: &str) -> anyhow::Result<url::Url> {
        self.base
            .join(path.trim_start_matches('/'))
            .with_context(|| format!("bad API path {path}"))
    }

    /// Sends a request with the token and an optional JSON body.
    async fn request<B: Serialize>(
        &self,
        method: Method,
        url: &url::Url,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> anyhow::Result<reqwest::Response> {
        let mut req = self.http.request(method, url.clone()).query(query);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send()
            .await
            .with_context(|| format!("cannot reach the Wavecast server at {}", self.base))
    }

    /// Sends a request and decodes a JSON answer, or turns a problem body
    /// into an error.
    pub async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> anyhow::Result<T> {
        let url = self.url(path)?;
        let res = self.request(method, &url, query, body).await?;
        self.decode(&url, res).await.map(|(_, value)| value)
    }

    /// Sends a request whose answer has no body worth reading (204, or a
    /// 201 without one); a problem becomes an error.
    pub async fn call<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> anyhow::Result<()> {
        let url = self.url(path)?;
        let res = self.request(method, &url, &[], body).await?;
        if res.status().is_success() {
            return Ok(());
        }
        self.decode::<serde_json::Value>(&url, res)
            .await
            .map(|_| ())
    }

    /// Decodes a JSON answer with its status, or turns a problem body into
    /// a one-line error.
    async fn decode<T: DeserializeOwned>(
        &self,
        url: &url::Url,
        res: reqwest::Response,
    ) -> anyhow::Result<(u16, T)> {
        let status = res.status();
        let bytes = res.bytes().await.context("reading the answer")?;
        if status.is_success() {
            let value = serde_json::from_slice(&bytes)
                .with_context(|| format!("unexpected answer from {url}"))?;
            return Ok((status.as_u16(), value));
        }
        Err(match serde_json::from_slice::<Problem>(&bytes) {
            Ok(p) if status == StatusCode::UNAUTHORIZED && self.token.is_none() => {
                anyhow!("{p} (pass --token or set WAVECAST_TOKEN)")
            }
            Ok(p) => anyhow!("{p}"),
            Err(_) => anyhow!("{url} answered {status}"),
        })
    }

    /// Streams a request body of `len` bytes (application/octet-stream) and
    /// returns the status with the decoded answer.
    pub async fn upload<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        body: reqwest::Body,
        len: u64,
    ) -> anyhow::Result<(u16, T)> {
        let url = self.url(path)?;
        let mut req = self
            .http
            .post(url.clone())
            .query(query)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(body);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let res = req
            .send()
            .await
            .with_context(|| format!("cannot upload to the Wavecast server at {}", self.base))?;
        self.decode(&url, res).await
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<T> {
        self.send::<(), T>(Method::GET, path, query, None).await
    }
}
