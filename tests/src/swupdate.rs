//! The real SWUpdate client (Debian's `swupdate` 2022.12, suricatta in
//! hawkBit mode) as a box runs it, and [`Proxy`], a loopback TCP proxy
//! between it and the server that logs every request with its answer's
//! status and can cut one download mid-way.
//!
//! The binary is `WAVECAST_SWUPDATE`, else the copy `scripts/test-deps.sh`
//! unpacks under `$WAVECAST_TOOLS` (default `~/.cache/wavecast`), else
//! `/usr/bin/swupdate`. Missing, the tests that need it fail, saying so.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// The `swupdate` binary, or a failure naming how to get it.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("WAVECAST_SWUPDATE") {
        return PathBuf::from(p);
    }
    let tools = std::env::var_os("WAVECAST_TOOLS")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/wavecast")))
        .unwrap_or_default();
    let unpacked = tools.join("swupdate-2022.12/usr/bin/swupdate");
    for p in [unpacked, PathBuf::from("/usr/bin/swupdate")] {
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "the real SWUpdate client is missing: run scripts/test-deps.sh (it unpacks Debian's \
         swupdate package), or point WAVECAST_SWUPDATE at a swupdate binary"
    );
}

/// One box running SWUpdate: its own directory (sockets, temporary files,
/// log), controller id and `TargetToken`.
#[derive(Debug)]
pub struct SwuBox {
    pub controller: String,
    pub token: String,
    pub dir: PathBuf,
    runs: Mutex<u32>,
}

impl SwuBox {
    /// A box whose files live under `root/controller`; `cert` is the
    /// certificate its images must be signed with.
    pub fn new(root: &Path, controller: &str, token: &str, cert: &Path) -> Self {
        let dir = root.join(controller);
        std::fs::create_dir_all(&dir).expect("box dir");
        std::fs::copy(cert, dir.join("cert.pem")).expect("cert");
        // Attributes for configData, from the `identify` section.
        std::fs::write(
            dir.join("swupdate.cfg"),
            "globals:\n{\n    verbose = true;\n    loglevel = 5;\n};\n\
             identify: (\n    { name = \"model\"; value = \"stb\"; },\n    \
             { name = \"hardware_revision\"; value = \"1.0\"; }\n);\n\
             suricatta:\n{\n};\n",
        )
        .expect("config");
        Self {
            controller: controller.to_owned(),
            token: token.to_owned(),
            dir,
            runs: Mutex::new(0),
        }
    }

    /// Starts SWUpdate in suricatta mode against `server` (scheme, host and
    /// port), polling every second, retrying a cut download after a second;
    /// `extra` goes to suricatta (`-c 2`: report the last update's success
    /// on start). Its output goes to `run-N.log`.
    pub fn start(&self, server: &str, extra: &str) -> Run {
        let n = {
            let mut runs = self.runs.lock().expect("runs");
            *runs += 1;
            *runs
        };
        let log = self.dir.join(format!("run-{n}.log"));
        let out = std::fs::File::create(&log).expect("log");
        let err = out.try_clone().expect("log");
        let child = Command::new(binary())
            .current_dir(&self.dir)
            // Its sockets and temporary files go here, so boxes run side by side.
            .env("TMPDIR", &self.dir)
            .args([
                "-f",
                "swupdate.cfg",
                "-v",
                "-H",
                "stb:1.0",
                "-k",
                "cert.pem",
                "-u",
            ])
            .arg(format!(
                "-t DEFAULT -u {server} -i {} -k {} -p 1 -r 5 -w 1 {extra}",
                self.controller, self.token
            ))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("swupdate starts");
        Run { child, log }
    }
}

/// A running SWUpdate.
#[derive(Debug)]
pub struct Run {
    child: Child,
    pub log: PathBuf,
}

impl Run {
    /// Waits until its log shows `text` (within `secs`, or the test fails
    /// with the log's tail).
    pub async fn wait_for(&mut self, text: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if log.contains(text) {
                return;
            }
            if Instant::now() > deadline || self.child.try_wait().ok().flatten().is_some() {
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                panic!(
                    "swupdate did not log {text:?}; its log ends:\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Stops it (SIGKILL: a box losing power).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request as the proxy saw it: `METHOD PATH`, its `Range` header and
/// the status line's code of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
    pub status: u16,
    /// The connection was cut mid-answer on purpose.
    pub cut: bool,
    /// The answer's first bytes (head and body), as text.
    pub answer: String,
}

/// A loopback proxy before the server: one request per connection (it asks
/// for `Connection: close`), each logged; [`Proxy::cut_next`] cuts one
/// answer after some bytes.
#[derive(Debug, Clone)]
pub struct Proxy {
    pub address: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    cut: Arc<Mutex<Option<(String, usize)>>>,
}

impl Proxy {
    /// Listens on a free loopback port, forwarding to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("addr"));
        let proxy = Self {
            address,
            seen: Arc::default(),
            cut: Arc::default(),
        };
        let p = proxy.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let p = p.clone();
                tokio::spawn(async move {
                    let _ = p.forward(client, upstream).await;
                });
            }
        });
        proxy
    }

    /// Cuts the next `GET` whose path contains `path_part` after `after`
    /// bytes of its answer.
    pub fn cut_next(&self, path_part: &str, after: usize) {
        *self.cut.lock().expect("cut") = Some((path_part.to_owned(), after));
    }

    /// Every request so far, oldest first.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen").clone()
    }

    async fn forward(&self, mut client: TcpStream, upstream: SocketAddr) -> std::io::Result<()> {
        let mut head = Vec::new();
        let mut buf = [0u8; 8192];
        let body_start = loop {
            let n = client.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            head.extend_from_slice(&buf[..n]);
            if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if head.len() > 65_536 {
                return Ok(());
            }
        };
        let text = String::from_utf8_lossy(&head[..body_start]).to_string();
        let mut lines = text.split("\r\n");
        let first = lines.next().unwrap_or_default().to_owned();
        let mut parts = first.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or_default().to_owned(),
            parts.next().unwrap_or_default().to_owned(),
        );
        let mut range = None;
        let mut rewritten = format!("{first}\r\n");
        for l in lines.filter(|l| !l.is_empty()) {
            let lower = l.to_ascii_lowercase();
            if lower.starts_with("connection:") {
                continue;
            }
            if lower.starts_with("range:") {
                range = Some(l[6..].trim().to_owned());
            }
            rewritten.push_str(l);
            rewritten.push_str("\r\n");
        }
        rewritten.push_str("Connection: close\r\n\r\n");
        let cut_after = {
            let mut cut = self.cut.lock().expect("cut");
            match &*cut {
                Some((part, after)) if method == "GET" && path.contains(part.as_str()) => {
                    let after = *after;
                    *cut = None;
                    Some(after)
                }
                _ => None,
            }
        };
        let mut server = TcpStream::connect(upstream).await?;
        server.write_all(rewritten.as_bytes()).await?;
        server.write_all(&head[body_start..]).await?;
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        });
        let mut sent = 0usize;
        let mut answer = Vec::new();
        let mut cut = false;
        loop {
            let n = server_read.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            if answer.len() < 4096 {
                answer.extend_from_slice(&buf[..n.min(4096 - answer.len())]);
            }
            let take = match cut_after {
                Some(after) if sent + n >= after => {
                    cut = true;
                    after - sent
                }
                _ => n,
            };
            client_write.write_all(&buf[..take]).await?;
            sent += take;
            if cut {
                break;
            }
        }
        let answer = String::from_utf8_lossy(&answer).to_string();
        // The final status line (curl asks for `100 Continue` first).
        let status = answer
            .split("\r\n")
            .filter(|l| l.starts_with("HTTP/1."))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u16>().ok())
            .find(|s| *s >= 200)
            .unwrap_or(0);
        self.seen.lock().expect("seen").push(Seen {
            method,
            path,
            range,
            status,
            cut,
            answer,
        });
        Ok(())
    }
}
