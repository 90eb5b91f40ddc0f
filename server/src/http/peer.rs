//! Who is calling: the client's address as the server can trust it. The
//! TCP peer, unless the peer is a proxy named in `http.trusted_proxies`;
//! then the address that proxy forwarded (`Forwarded` or
//! `X-Forwarded-For`). A header sent by anyone else is ignored: a client
//! cannot pick the address its throttles and audit entries see.

use std::net::IpAddr;

use actix_web::HttpRequest;

/// The client's address (`None` only where there is no TCP peer, as in
/// some tests).
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let info = req.connection_info();
    let forwarded = info.realip_remote_addr()?;
    // `ip`, `ip:port` or `[v6]:port`, as proxies write it.
    forwarded
        .parse()
        .ok()
        .or_else(|| {
            forwarded
                .parse::<std::net::SocketAddr>()
                .ok()
                .map(|s| s.ip())
        })
        .or(Some(peer))
}

/// [`client_ip`] as the text audit entries and sessions keep.
pub fn client_ip_text(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<String> {
    client_ip(req, trusted_proxies).map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::client_ip;

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy: std::net::IpAddr = "10.0.0.1".parse().expect("ip");
        let req = |peer: &str| {
            TestRequest::default()
                .peer_addr(peer.parse().expect("addr"))
                .insert_header(("x-forwarded-for", "203.0.113.9"))
                .to_http_request()
        };
        // Anyone can send the header: it is ignored.
        assert_eq!(
            client_ip(&req("198.51.100.7:5000"), &[proxy]),
            Some("198.51.100.7".parse().expect("ip"))
        );
        // From the proxy, the forwarded address is the client's.
        assert_eq!(
            client_ip(&req("10.0.0.1:5000"), &[proxy]),
            Some("203.0.113.9".parse().expect("ip"))
        );
        assert_eq!(
            client_ip(&req("10.0.0.1:5000"), &[]),
            Some(proxy),
            "no proxy is trusted unless named"
        );
    }
}
