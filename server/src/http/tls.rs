//! HTTPS in the server itself (`http.tls`): rustls on the ring provider,
//! serving the certificate `platform::certs` reads from PEM files and
//! reads again when they change, so a renewed certificate is served
//! without a restart; and the redirect of plain HTTP.

use std::sync::Arc;

use rustls::ServerConfig;

pub use crate::platform::certs::ReloadingCert;

/// The rustls configuration serving `cert` (HTTP/1.1 offered).
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
