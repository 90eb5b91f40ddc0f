//! An HTTPS front for end-to-end tests, as a box meets the server in the
//! field: TLS terminated in front of the plain-HTTP server (the README's
//! deployment), here by a small rustls proxy with a CA and a `localhost`
//! certificate made for each run.

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{
    rustls::{
        self,
        pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer},
    },
    TlsAcceptor,
};

/// A running HTTPS front. Dropping it stops accepting connections.
#[derive(Debug)]
pub struct TlsFront {
    /// `https://localhost:PORT`.
    pub url: String,
    /// The CA that signed the front's certificate (PEM), as a box's
    /// `ca_file` names it.
    pub ca_file: PathBuf,
    /// A CA that signed nothing here: trusting only it must fail.
    pub other_ca_file: PathBuf,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A certificate authority made for one run.
pub fn ca(name: &str) -> anyhow::Result<(rcgen::Certificate, KeyPair)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    Ok((params.self_signed(&key)?, key))
}

/// A `localhost` / `127.0.0.1` certificate signed by `ca`, with its key:
/// (chain PEM with the CA, key PEM, the leaf's DER).
pub fn leaf(
    ca: &(rcgen::Certificate, KeyPair),
    serial: u64,
) -> anyhow::Result<(String, String, Vec<u8>)> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.serial_number = Some(serial.into());
    let cert = params.signed_by(&key, &ca.0, &ca.1)?;
    Ok((
        format!("{}{}", cert.pem(), ca.0.pem()),
        key.serialize_pem(),
        cert.der().to_vec(),
    ))
}

/// A TLS connection to `addr` as `localhost`, trusting only `ca_pem`.
pub async fn connect(
    addr: &str,
    ca_pem: &str,
) -> anyhow::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c?)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from("localhost")?;
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await?)
}

/// The certificate a TLS server at `addr` presents for `localhost`,
/// trusting `ca_pem` (DER of the leaf).
pub async fn served_certificate(addr: &str, ca_pem: &str) -> anyhow::Result<Vec<u8>> {
    let tls = connect(addr, ca_pem).await?;
    let (_, conn) = tls.get_ref();
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| anyhow::anyhow!("no certificate"))?;
    Ok(leaf.to_vec())
}

impl TlsFront {
    /// Terminates TLS on a free loopback port and relays each connection to
    /// `backend` (`http://127.0.0.1:PORT` or `127.0.0.1:PORT`).
    pub async fn start(backend: &str) -> anyhow::Result<Self> {
        let backend: SocketAddr = backend.trim_start_matches("http://").parse()?;
        let authority = ca("Wavecast test CA")?;
        let (other, _) = ca("Somebody else's CA")?;
        let (chain, key, _) = leaf(&authority, 1)?;

        let dir = tempfile::tempdir()?;
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, authority.0.pem())?;
        let other_ca_file = dir.path().join("other-ca.pem");
        std::fs::write(&other_ca_file, other.pem())?;

        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            CertificateDer::pem_slice_iter(chain.as_bytes()).collect::<Result<_, _>>()?,
            PrivateKeyDer::from_pem_slice(key.as_bytes())?,
        )?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A failed handshake (an untrusting box hangs up) just
                    // ends this connection.
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut plain) = TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Ok(Self {
            url: format!("https://localhost:{port}"),
            ca_file,
            other_ca_file,
            _dir: dir,
            task,
        })
    }
}
