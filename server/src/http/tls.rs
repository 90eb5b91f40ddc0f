//! HTTPS in the server itself (`http.tls`): rustls on the ring provider,
//! with the certificate chain and key read from PEM files and read again
//! when either file changes, so a renewed certificate is served without a
//! restart (new connections get it; open ones keep theirs). A file that
//! cannot be read at start stops the start; a renewal that cannot be read
//! is logged and the certificate in use stays.

use std::{
    path::Path,
    sync::Arc,
    time::{Duration, SystemTime},
};

use anyhow::Context as _;
use arc_swap::ArcSwap;
use rustls::{
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
    ServerConfig,
};

use crate::platform::config::HttpTlsConfig as TlsFiles;

/// How often the files are looked at for a renewal.
const WATCH: Duration = Duration::from_secs(2);

/// Reads a chain and its key into what rustls serves.
fn load(files: &TlsFiles) -> anyhow::Result<CertifiedKey> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert_file)
        .with_context(|| format!("cannot read {}", files.cert_file.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| {
            format!(
                "{} is not a PEM certificate chain",
                files.cert_file.display()
            )
        })?;
    if certs.is_empty() {
        anyhow::bail!("{} holds no certificate", files.cert_file.display());
    }
    let key = PrivateKeyDer::from_pem_file(&files.key_file)
        .with_context(|| format!("{} is not a PEM private key", files.key_file.display()))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key)
        .with_context(|| format!("{}: unsupported key type", files.key_file.display()))?;
    let certified = CertifiedKey::new(certs, signing);
    certified.keys_match().with_context(|| {
        format!(
            "{} does not belong to {}",
            files.key_file.display(),
            files.cert_file.display()
        )
    })?;
    Ok(certified)
}

/// When each file last changed, to notice a renewal.
fn stamp(paths: [&Path; 2]) -> [Option<(SystemTime, u64)>; 2] {
    paths.map(|p| {
        std::fs::metadata(p)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())))
    })
}

/// The certificate served now, swapped when the files change.
#[derive(Debug)]
pub struct ReloadingCert {
    files: TlsFiles,
    current: ArcSwap<CertifiedKey>,
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

impl ReloadingCert {
    /// Reads the files now; fails when they cannot be served.
    pub fn open(files: &TlsFiles) -> anyhow::Result<Arc<Self>> {
        let current = load(files).context("http.tls")?;
        Ok(Arc::new(Self {
            files: files.clone(),
            current: ArcSwap::from_pointee(current),
        }))
    }

    /// Looks at the files every [`WATCH`] and serves a renewed pair once it
    /// reads; runs until the process ends.
    pub fn watch(self: Arc<Self>) {
        tokio::spawn(async move {
            let paths = [
                self.files.cert_file.as_path(),
                self.files.key_file.as_path(),
            ];
            let mut seen = stamp(paths);
            let mut tick = tokio::time::interval(WATCH);
            loop {
                tick.tick().await;
                let now = stamp(paths);
                if now == seen {
                    continue;
                }
                match load(&self.files) {
                    Ok(certified) => {
                        self.current.store(Arc::new(certified));
                        seen = now;
                        tracing::info!(
                            cert = %self.files.cert_file.display(),
                            "the renewed certificate is served to new connections"
                        );
                    }
                    // A pair half written (the certificate before its key)
                    // is read again at the next look.
                    Err(e) => tracing::warn!(
                        error = %format!("{e:#}"),
                        "the changed certificate files cannot be served yet; the old certificate stays"
                    ),
                }
            }
        });
    }
}

/// The rustls configuration serving `cert` (HTTP/1.1 and HTTP/2 offered).
pub fn server_config(cert: Arc<ReloadingCert>) -> ServerConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| unreachable!("the ring provider supports the default versions"))
        .with_no_client_auth()
        .with_cert_resolver(cert);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// Where a plain-HTTP request is sent when `http.tls.redirect_bind` is set:
/// the same host and path on the HTTPS port.
pub fn redirect_target(host: &str, https_port: u16, path_and_query: &str) -> String {
    let name = match host.rsplit_once(':') {
        // `[v6]:port` or `name:port`; a bare `[v6]` has no port to drop.
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.is_empty() => name,
        _ => host,
    };
    if https_port == 443 {
        format!("https://{name}{path_and_query}")
    } else {
        format!("https://{name}:{https_port}{path_and_query}")
    }
}

#[cfg(test)]
mod tests {
    use super::redirect_target;

    #[test]
    fn plain_requests_are_sent_to_the_same_host_over_https() {
        assert_eq!(
            redirect_target("stb.example.net:8080", 8443, "/api/v1/x?a=1"),
            "https://stb.example.net:8443/api/v1/x?a=1"
        );
        assert_eq!(
            redirect_target("stb.example.net", 443, "/"),
            "https://stb.example.net/"
        );
        assert_eq!(
            redirect_target("[::1]:8080", 8443, "/"),
            "https://[::1]:8443/"
        );
    }
}
