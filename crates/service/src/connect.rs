use std::io;
use std::sync::Arc;
use std::time::Duration;

use mixer_tls::rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::Target;

/// Connects to `target` and completes a TLS handshake, both within
/// `timeout`.
pub async fn connect_tls(
    target: &Target,
    config: Arc<ClientConfig>,
    timeout: Duration,
) -> io::Result<TlsStream<TcpStream>> {
    let attempt = async {
        let tcp = TcpStream::connect((target.host.as_str(), target.port)).await?;
        tcp.set_nodelay(true)?;
        TlsConnector::from(config)
            .connect(target.server_name.clone(), tcp)
            .await
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "connect and handshake timed out after {}",
                humantime::format_duration(timeout)
            ),
        )),
    }
}
