//! A real browser for the console's tests: Debian's `chromedriver` driving
//! headless `chromium` (started here on a free port, with a fresh profile),
//! over WebDriver from Rust. Missing either binary fails the test and says
//! what to install (`scripts/test-deps.sh` installs both; CI always has
//! them). A test run through [`Browser::check`] saves a screenshot and the
//! page source under `target/browser-failures/` when it fails.

use std::{
    panic::AssertUnwindSafe,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{elements::Element, Client, ClientBuilder, Locator};
use futures_util::FutureExt as _;
use reqwest::StatusCode;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A browser signed in to nothing yet, on the console at `base`.
#[derive(Debug)]
pub struct Browser {
    pub client: Client,
    pub base: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// Where failed tests leave their screenshot and page source.
pub fn failures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser-failures")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium 1280 px wide for the
    /// console at `base` (`http://127.0.0.1:PORT`).
    pub async fn start(base: &str) -> Browser {
        Self::start_sized(base, 1280, 900).await
    }

    /// The same, `width` × `height` px (a phone: 390 × 844).
    pub async fn start_sized(base: &str, width: u32, height: u32) -> Browser {
        for (bin, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: the console's browser tests need Debian's `{package}` \
                 (scripts/test-deps.sh installs it)"
            );
        }
        // The WebDriver connection is plain HTTP, but the client builds a
        // TLS configuration anyway: name the provider (two are linked in).
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let port = crate::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-features=Translate,OptimizationHints,MediaRouter".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut options = serde_json::json!({ "binary": CHROMIUM, "args": args });
        // Chromium will not shrink a window below 500 px; a phone's
        // viewport is emulated instead.
        if width < 500 {
            options["mobileEmulation"] = serde_json::json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0, "touch": true }
            });
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("chromedriver opens a Chromium session");
        Browser {
            client,
            base: base.to_owned(),
            driver,
            _profile: profile,
        }
    }

    /// Opens `path` of the console.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("opening {path}: {e}"));
    }

    /// The path of the page shown.
    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.path().to_owned())
            .unwrap_or_default()
    }

    pub async fn find(&self, css: &str) -> Element {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Whether an element `css` is on the page.
    pub async fn has(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
            .is_empty()
    }

    /// The text of element `css`. Parts of a page replace themselves as
    /// they refresh: an element found just before its part was swapped is
    /// stale, and is looked up again rather than read as empty.
    pub async fn text(&self, css: &str) -> String {
        let mut last = None;
        for _ in 0..20 {
            match self.find(css).await.text().await {
                Ok(text) => return text,
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("cannot read the text of {css}: {last:?}")
    }

    /// Types `value` into field `css` (replacing what it held).
    pub async fn fill(&self, css: &str, value: &str) {
        let e = self.find(css).await;
        e.clear()
            .await
            .unwrap_or_else(|err| panic!("clearing {css}: {err}"));
        e.send_keys(value)
            .await
            .unwrap_or_else(|err| panic!("typing into {css}: {err}"));
    }

    pub async fn click(&self, css: &str) {
        // A live part may be swapped between finding the element and
        // clicking it: the new one is found and clicked again.
        for _ in 0..5 {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) if e.to_string().contains("stale element") => continue,
                Err(e) => panic!("clicking {css}: {e}"),
            }
        }
        panic!("clicking {css}: replaced five times in a row");
    }

    /// Runs `act` (a click that leaves the page) and waits until the next
    /// page has replaced this one.
    pub async fn navigating<F, Fut>(&self, act: F)
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let old = self.find("html").await;
        act().await;
        let deadline = Instant::now() + Duration::from_secs(30);
        while old.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "the page did not change");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The new page's own document is there once it has a body.
        while !self.has("body").await {
            assert!(Instant::now() < deadline, "the next page did not load");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks `css` and waits for the page it leads to.
    pub async fn click_nav(&self, css: &str) {
        self.navigating(|| self.click(css)).await;
    }

    /// Accepts the page's confirmation dialog.
    pub async fn confirm(&self) {
        self.client
            .accept_alert()
            .await
            .expect("a confirmation dialog");
    }

    /// Signs in as `name` with `password` on the sign-in page.
    pub async fn sign_in(&self, name: &str, password: &str) {
        self.goto("/sign-in").await;
        self.fill("#name", name).await;
        self.fill("#password", password).await;
        self.click_nav("#sign-in").await;
    }

    /// Waits (at most `secs`) until `cond` holds, polling the page.
    pub async fn wait_until<F, Fut>(&self, what: &str, secs: u64, cond: F)
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !cond().await {
            assert!(Instant::now() < deadline, "waited {secs} s for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// An HTTP client that does not follow redirects, to send forms by hand
    /// (with [`Self::session_cookie`] and [`Self::csrf`]) and see the
    /// server's own answer.
    pub fn http() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// The session cookie's `name=value`, to send requests as this browser.
    pub async fn session_cookie(&self) -> String {
        self.client
            .get_all_cookies()
            .await
            .expect("cookies")
            .into_iter()
            .find(|c| c.name().ends_with("wavecast-session"))
            .map(|c| format!("{}={}", c.name(), c.value()))
            .expect("a session cookie")
    }

    /// The status of a form posted by hand to `path` on `base` with this
    /// browser's session and the page's CSRF token, as a crafted request
    /// would be (to show the server refuses what the page does not offer).
    pub async fn post_by_hand(&self, base: &str, path: &str, form: &[(&str, &str)]) -> StatusCode {
        let cookie = self.session_cookie().await;
        let csrf = self.csrf().await;
        let mut form = form.to_vec();
        form.push(("csrf", &csrf));
        Browser::http()
            .post(format!("{base}{path}"))
            .header("cookie", cookie)
            .header("origin", base)
            .form(&form)
            .send()
            .await
            .expect("an answer")
            .status()
    }

    /// The page's CSRF token (its `csrf-token` meta).
    pub async fn csrf(&self) -> String {
        self.find("meta[name=csrf-token]")
            .await
            .attr("content")
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Saves a PNG of the page at `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.expect("a screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, png).expect("write screenshot");
    }

    /// A screenshot of the whole page at the window's width (the window
    /// grows to the page's height, at most 2,400 px, and back).
    pub async fn screenshot_page(&self, path: &Path) {
        let (width, height) = self.client.get_window_size().await.expect("window size");
        let (width, height) = (
            u32::try_from(width).unwrap_or(1280),
            u32::try_from(height).unwrap_or(900),
        );
        let page = self
            .client
            .execute("return document.documentElement.scrollHeight;", vec![])
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .and_then(|h| u32::try_from(h.min(2400)).ok())
            .unwrap_or(0);
        // The window's frame takes some of its height from the page.
        self.client
            .set_window_size(width, (page + 120).max(height))
            .await
            .expect("window grows");
        self.screenshot(path).await;
        self.client
            .set_window_size(width, height)
            .await
            .expect("window back");
    }

    /// Runs `test`; when it fails, saves a screenshot and the page source
    /// as `target/browser-failures/NAME.png` and `.html`, then fails.
    pub async fn check<F: std::future::Future<Output = ()>>(&self, name: &str, test: F) {
        if let Err(panic) = AssertUnwindSafe(test).catch_unwind().await {
            let dir = failures_dir();
            let _ = std::fs::create_dir_all(&dir);
            if let Ok(png) = self.client.screenshot().await {
                let _ = std::fs::write(dir.join(format!("{name}.png")), png);
            }
            if let Ok(html) = self.client.source().await {
                let _ = std::fs::write(dir.join(format!("{name}.html")), html);
            }
            eprintln!(
                "browser test {name} failed: screenshot and page source in {}",
                dir.display()
            );
            std::panic::resume_unwind(panic);
        }
    }

    /// Ends the browser and its driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
