//! Which certificates the box trusts for the server's HTTPS and its MQTT
//! broker over TLS (`mqtts://`): the box's own CA
//! store by default, or only the CA certificates of a PEM file
//! (`ca_file` in the config), which is how a box that talks to one
//! operator's servers pins that operator's CA.
//!
//! Both TLS builds honour it the same way. With `system-tls` (the box's
//! OpenSSL) the built-in roots are switched off when a file is given, which
//! also spares OpenSSL from parsing the whole system bundle (about 1.7 MiB
//! of heap on a Debian box). With `rustls` the file's certificates are the
//! only roots; without a file the system store is read on the first
//! HTTPS connection.

use std::{
    fmt,
    io::{self, Read, Write},
    net::TcpStream,
    path::Path,
    sync::Arc,
    time::Duration,
};

use rustls_pki_types::{pem::PemObject, CertificateDer};

#[cfg(feature = "system-tls")]
type Connector = native_tls::TlsConnector;
#[cfg(not(feature = "system-tls"))]
type Connector = rustls::ClientConfig;

/// The server-certificate trust every [`crate::client::Client`] is built with.
#[derive(Clone, Default)]
pub struct ServerTrust {
    /// `None`: the system CA store.
    pinned: Option<Arc<Connector>>,
    /// Where the pinned certificates came from, for messages.
    source: Option<String>,
}

impl fmt::Display for ServerTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(s) => write!(f, "the CA file {s}"),
            None => f.write_str("the system CA store"),
        }
    }
}

impl fmt::Debug for ServerTrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerTrust({self})")
    }
}

impl ServerTrust {
    /// The box's system CA store.
    pub fn system() -> Self {
        Self::default()
    }

    /// The config's `ca_file` if it names one, else the system store.
    pub fn from_ca_file(path: Option<&Path>) -> Result<Self, String> {
        let Some(path) = path else {
            return Ok(Self::system());
        };
        let shown = path.display().to_string();
        let certs = read_pem_certificates(path).map_err(|e| format!("ca_file {shown}: {e}"))?;
        let pinned = connector(&certs).map_err(|e| format!("ca_file {shown}: {e}"))?;
        Ok(Self {
            pinned: Some(Arc::new(pinned)),
            source: Some(shown),
        })
    }

    /// Sets up `builder`'s TLS with this trust.
    pub(crate) fn apply(&self, builder: ureq::AgentBuilder) -> ureq::AgentBuilder {
        match &self.pinned {
            #[cfg(feature = "system-tls")]
            Some(c) => builder.tls_connector(c.clone()),
            #[cfg(not(feature = "system-tls"))]
            Some(c) => builder.tls_config(c.clone()),
            None => system(builder),
        }
    }
}

/// A byte stream to the MQTT broker: plain TCP, or TLS over it.
pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// How long a TLS handshake with the broker may take.
const HANDSHAKE: Duration = Duration::from_secs(15);

impl ServerTrust {
    /// TLS to `host` over `tcp`, with this trust; the handshake is done
    /// here (within [`HANDSHAKE`]), and `read_timeout` is set for what
    /// follows.
    pub fn wrap(
        &self,
        host: &str,
        tcp: TcpStream,
        read_timeout: Duration,
    ) -> io::Result<Box<dyn Stream>> {
        tcp.set_read_timeout(Some(HANDSHAKE))?;
        tcp.set_write_timeout(Some(HANDSHAKE))?;
        self.tls_stream(host, tcp, read_timeout)
    }

    #[cfg(feature = "system-tls")]
    fn tls_stream(
        &self,
        host: &str,
        tcp: TcpStream,
        read_timeout: Duration,
    ) -> io::Result<Box<dyn Stream>> {
        let connector = match &self.pinned {
            Some(c) => c.clone(),
            None => Arc::new(native_tls::TlsConnector::new().map_err(io::Error::other)?),
        };
        let tls = connector
            .connect(host, tcp)
            .map_err(|e| io::Error::other(format!("TLS to the broker: {e}")))?;
        tls.get_ref().set_read_timeout(Some(read_timeout))?;
        Ok(Box::new(tls))
    }

    #[cfg(not(feature = "system-tls"))]
    fn tls_stream(
        &self,
        host: &str,
        mut tcp: TcpStream,
        read_timeout: Duration,
    ) -> io::Result<Box<dyn Stream>> {
        let config = match &self.pinned {
            Some(c) => c.clone(),
            None => Arc::new(system_roots()?),
        };
        let name = rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|e| io::Error::other(format!("broker name {host:?}: {e}")))?;
        let mut conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp)
                .map_err(|e| io::Error::other(format!("TLS to the broker: {e}")))?;
        }
        tcp.set_read_timeout(Some(read_timeout))?;
        Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
    }
}

/// The system CA store as a rustls configuration (ureq reads it for HTTPS
/// the same way).
#[cfg(not(feature = "system-tls"))]
fn system_roots() -> io::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(
        rustls_native_certs::load_native_certs().map_err(io::Error::other)?,
    );
    if added == 0 {
        return Err(io::Error::other("the system CA store holds no certificate"));
    }
    rustls::ClientConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .map_err(io::Error::other)
}

/// Every `CERTIFICATE` block of a PEM file; other blocks (keys, CRLs) are
/// skipped. A file without one is an error, not an empty trust store.
pub fn read_pem_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let text = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM: {e}"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate".into());
    }
    Ok(certs)
}

#[cfg(feature = "system-tls")]
fn connector(certs: &[CertificateDer<'static>]) -> Result<Connector, String> {
    let mut b = native_tls::TlsConnector::builder();
    b.disable_built_in_roots(true);
    for (i, c) in certs.iter().enumerate() {
        let cert = native_tls::Certificate::from_der(c)
            .map_err(|e| format!("certificate {}: {e}", i + 1))?;
        b.add_root_certificate(cert);
    }
    b.build().map_err(|e| e.to_string())
}

#[cfg(not(feature = "system-tls"))]
fn connector(certs: &[CertificateDer<'static>]) -> Result<Connector, String> {
    let mut roots = rustls::RootCertStore::empty();
    for (i, c) in certs.iter().enumerate() {
        roots
            .add(c.clone())
            .map_err(|e| format!("certificate {}: {e}", i + 1))?;
    }
    // The ring provider, as ureq itself uses, so only one crypto backend is linked.
    rustls::ClientConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .map_err(|e| e.to_string())
}

/// The system store through the box's OpenSSL. Should OpenSSL fail to set
/// up, ureq's own connector reports it on the first HTTPS request.
#[cfg(feature = "system-tls")]
fn system(builder: ureq::AgentBuilder) -> ureq::AgentBuilder {
    match native_tls::TlsConnector::new() {
        Ok(tls) => builder.tls_connector(Arc::new(tls)),
        Err(e) => {
            crate::log::warn(&format!("TLS: cannot set up OpenSSL: {e}"));
            builder
        }
    }
}

/// ureq's rustls default, built with `native-certs`: the system store, read
/// lazily on the first HTTPS connection.
#[cfg(not(feature = "system-tls"))]
fn system(builder: ureq::AgentBuilder) -> ureq::AgentBuilder {
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    // A self-signed CA certificate (P-256), only ever parsed here.
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBdzCCAR2gAwIBAgIUSU3R2mbM3jxBcdH4mZ3d3v1rQQMwCgYIKoZIzj0EAwIw
ETEPMA0GA1UEAwwGdGVzdGNhMB4XDTI2MDEwMTAwMDAwMFoXDTM2MDEwMTAwMDAw
MFowETEPMA0GA1UEAwwGdGVzdGNhMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
";

    #[test]
    fn a_missing_or_empty_ca_file_is_refused_with_its_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.pem");
        let e = ServerTrust::from_ca_file(Some(&missing)).expect_err("missing");
        assert!(
            e.contains("missing.pem") && e.contains("cannot read"),
            "{e}"
        );

        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "# nothing here\n").expect("write");
        let e = ServerTrust::from_ca_file(Some(&empty)).expect_err("empty");
        assert!(e.contains("no PEM certificate"), "{e}");

        let broken = dir.path().join("broken.pem");
        std::fs::write(&broken, CA).expect("write");
        let e = ServerTrust::from_ca_file(Some(&broken)).expect_err("truncated");
        assert!(e.contains("broken.pem"), "{e}");
    }

    #[test]
    fn no_ca_file_means_the_system_store() {
        let t = ServerTrust::from_ca_file(None).expect("system");
        assert!(t.pinned.is_none());
        assert_eq!(t.to_string(), "the system CA store");
    }
}
