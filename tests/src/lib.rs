//! Test harness for Wavecast's integration and end-to-end tests.
//!
//! - [`app::TestApp`] starts the real server in-process on port 0 with a
//!   fresh database per test, on SQLite or PostgreSQL;
//! - [`pg`] starts a throwaway PostgreSQL cluster (initdb + postgres in a temp
//!   dir on a free port) once per test binary, or uses the server named by
//!   `WAVECAST_TEST_DATABASE_URL`;
//! - [`bin`] finds (building if needed) the real `wavecast` binaries;
//! - [`browser`] drives headless Chromium through Debian's chromedriver;
//! - [`fleet`] simulates boxes (identity keys, check-ins verified as a box
//!   verifies them, status reports);
//! - [`mosquitto`] starts a throwaway Mosquitto for the external-broker tests;
//! - [`served`] starts the real `wavecast serve` binary from a config file;
//! - [`swu`] makes signed SWUpdate images and the bundles carrying them, and
//!   [`swupdate`] runs the real SWUpdate client behind a logging, cutting proxy;
//! - [`tls`] puts an HTTPS front (a per-run CA) before a test server;
//! - [`trust`] builds keys, keyrings and (good or broken) bundle files;
//! - [`both_backends!`] runs a test function once per database backend.
//!
//! PostgreSQL is not optional: where it is missing the PostgreSQL half of the
//! suite fails, naming what is missing, unless `WAVECAST_TEST_SKIP_POSTGRES=1`
//! says to skip it (and then every skipped test says so on stderr).

pub mod app;
pub mod bin;
pub mod browser;
pub mod fleet;
pub mod mosquitto;
pub mod pg;
pub mod served;
pub mod sim;
pub mod stb;
pub mod support;
pub mod swu;
pub mod swupdate;
pub mod tls;
pub mod trust;
pub mod webhook;

pub use app::{Backend, TestApp};

/// A free loopback port (bound and let go) for a server that must be told
/// its port before it starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Generates `sqlite::NAME` and `postgres::NAME` tests for each
/// `async fn NAME(app: TestApp)` named; `configure = FN;` first adjusts the
/// server's configuration (`FN: FnOnce(&mut Config)`).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        $crate::both_backends!(configure = |_| {}; $($name),+);
    };
    (configure = $adjust:expr; $($name:ident),+ $(,)?) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let app = $crate::TestApp::spawn_with($crate::Backend::Sqlite, $adjust)
                        .await
                        .expect("SQLite is always available");
                    super::$name(app).await;
                }
            )+
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(app) =
                        $crate::TestApp::spawn_with($crate::Backend::Postgres, $adjust).await
                    else {
                        return;
                    };
                    super::$name(app).await;
                }
            )+
        }
    };
}
