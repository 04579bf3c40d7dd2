use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mixer_tls::rustls::{ClientConfig, RootCertStore};
use mixer_tls::ClientTlsFiles;
use service::Target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// Upper bound for any single network step in a test: a connect with its
/// handshake, or a read that should return promptly. Generous, so that a slow
/// machine does not fail a correct test.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds a client config from `files`, panicking with the load error.
pub fn client_config(files: &ClientTlsFiles) -> Arc<ClientConfig> {
    mixer_tls::client_config(files)
        .unwrap_or_else(|err| panic!("cannot build client config: {err}"))
}

/// Builds a client config that trusts the CA in `ca` but has no client
/// certificate to present.
pub fn client_config_without_certificate(ca: &Path) -> Arc<ClientConfig> {
    let anchors =
        mixer_tls::load_trust_anchors(ca).unwrap_or_else(|err| panic!("cannot load the CA: {err}"));
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(anchors.certs);
    let config = ClientConfig::builder_with_provider(mixer_tls::crypto_provider())
        .with_safe_default_protocol_versions()
        .expect("the default protocol versions are supported")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Connects to `addr` and completes a handshake, checking the server's
/// certificate against the name `localhost`.
pub async fn connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> io::Result<TlsStream<TcpStream>> {
    connect_as(addr, config, "localhost").await
}

/// Connects to `addr` and completes a handshake, checking the server's
/// certificate against `server_name`.
pub async fn connect_as(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    server_name: &str,
) -> io::Result<TlsStream<TcpStream>> {
    let target = Target::parse(&addr.to_string(), Some(server_name))
        .unwrap_or_else(|err| panic!("invalid test target: {err}"));
    service::connect_tls(&target, config, IO_TIMEOUT).await
}

/// Connects and expects the server to reject the client, and returns the
/// error the client saw.
///
/// In TLS 1.3 the client finishes its side of the handshake before the
/// server has checked the client certificate, so a rejection may arrive
/// only as an alert on the first read. The client sends a few bytes first,
/// so that callers can check that none of them reached the upstream.
/// Panics if the connection works.
pub async fn expect_rejection(addr: SocketAddr, config: Arc<ClientConfig>) -> io::Error {
    let mut stream = match connect(addr, config).await {
        Ok(stream) => stream,
        Err(err) => return err,
    };
    let exchange = async {
        // A write error here is a reset racing the alert; the read below
        // reports the alert if it arrived first.
        let _ = stream.write_all(b"hello").await;
        let _ = stream.flush().await;
        let mut buffer = [0u8; 64];
        stream.read(&mut buffer).await
    };
    match tokio::time::timeout(IO_TIMEOUT, exchange).await {
        Ok(Err(err)) => err,
        Ok(Ok(0)) => {
            panic!("the server closed the connection cleanly instead of rejecting the client")
        }
        Ok(Ok(n)) => panic!("the server accepted the client and sent {n} bytes back"),
        Err(_) => panic!("no rejection within {IO_TIMEOUT:?}"),
    }
}
