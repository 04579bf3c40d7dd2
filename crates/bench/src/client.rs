//! Connecting to the server under test with the benchmark's TLS settings.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mixer_tls::rustls::{ClientConfig, ClientConnection, StreamOwned};
use mixer_tls::{ClientTlsFiles, ClientTlsOptions};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::cli::ClientArgs;

/// Time one connection gets for TCP connect, handshake and first echo.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes of the round trip that proves a connection reaches the upstream.
const PROBE: &[u8; 8] = b"mxbench\n";

/// The server under test and the client config every connection uses.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server's listening address.
    pub addr: SocketAddr,
    server_name: ServerName<'static>,
    config: Arc<ClientConfig>,
}

impl Target {
    /// Loads the client certificate and builds a config that offers only
    /// TLS 1.3, X25519 and AES-128-GCM and never resumes a session.
    pub fn new(args: &ClientArgs) -> anyhow::Result<Self> {
        let files = ClientTlsFiles {
            cert: args.cert.clone(),
            key: args.key.clone(),
            ca: args.ca.clone(),
        };
        let options = ClientTlsOptions {
            tls13_x25519_aes128_only: true,
            disable_resumption: true,
        };
        let config = mixer_tls::client_config_with_options(&files, &options)?;
        let server_name = ServerName::try_from(args.server_name.clone()).with_context(|| {
            format!(
                "--server-name {:?} is not a valid DNS name or IP address",
                args.server_name
            )
        })?;
        Ok(Self {
            addr: args.connect,
            server_name,
            config,
        })
    }

    /// Connects and completes a full handshake.
    pub async fn connect(&self) -> io::Result<TlsStream<TcpStream>> {
        let attempt = async {
            let tcp = TcpStream::connect(self.addr).await?;
            tcp.set_nodelay(true)?;
            TlsConnector::from(self.config.clone())
                .connect(self.server_name.clone(), tcp)
                .await
        };
        within_timeout(attempt).await
    }

    /// Connects, completes a full handshake and checks one small echo, which
    /// proves that the server accepted the client certificate and reached
    /// its upstream. The upstream must echo.
    pub async fn connect_and_probe(&self) -> io::Result<TlsStream<TcpStream>> {
        let attempt = async {
            let mut stream = self.connect().await?;
            stream.write_all(PROBE).await?;
            stream.flush().await?;
            let mut echoed = [0u8; PROBE.len()];
            stream.read_exact(&mut echoed).await?;
            if &echoed != PROBE {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the probe came back changed; is the upstream an echo server?",
                ));
            }
            Ok(stream)
        };
        within_timeout(attempt).await
    }

    /// Connects with blocking sockets and completes a full handshake, for
    /// measurements paced by a dedicated thread.
    pub fn connect_blocking(
        &self,
    ) -> io::Result<StreamOwned<ClientConnection, std::net::TcpStream>> {
        let tcp = std::net::TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT)?;
        tcp.set_nodelay(true)?;
        tcp.set_read_timeout(Some(CONNECT_TIMEOUT))?;
        tcp.set_write_timeout(Some(CONNECT_TIMEOUT))?;

        let connection = ClientConnection::new(self.config.clone(), self.server_name.clone())
            .map_err(io::Error::other)?;
        let mut stream = StreamOwned::new(connection, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(stream)
    }
}

async fn within_timeout<T>(
    attempt: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "connect, handshake and probe timed out after {}",
                humantime::format_duration(CONNECT_TIMEOUT)
            ),
        )),
    }
}
