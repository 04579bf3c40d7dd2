//! Helpers for the fault tests: certificates from certgen, an in-process
//! proxy and mixer on 127.0.0.1:0, and TLS clients. Echo transfers checked
//! by SHA-256 come from the soak crate, which runs the same ones for hours.

// Each test binary uses a different part of this module.
#![allow(dead_code, unused_imports)]

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use mixer_tls::rustls::pki_types::ServerName;
use mixer_tls::rustls::ClientConfig;
use mixer_tls::ClientTlsFiles;
use proxy::cli::Args;
use proxy::config::ProxyConfig;
use proxy::{DrainReport, Proxy};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

pub use soak::echo::{echo_round_trip, read_to_end_hashed, MAX_CHUNK};

/// Upper bound for anything the tests wait on that should happen at once.
pub const PROMPT: Duration = Duration::from_secs(5);

/// A CA, proxy and service certificate written by certgen into a temp dir.
#[derive(Debug)]
pub struct Pki {
    _dir: tempfile::TempDir,
    /// The folder with ca.crt, proxy.crt, proxy.key, service.crt and so on.
    pub dir: PathBuf,
    /// A client config presenting the service certificate.
    pub client: Arc<ClientConfig>,
}

/// Creates a fresh certificate bundle and the matching client config.
pub fn make_pki() -> Pki {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().to_path_buf();
    certgen::write_bundle(&certgen::BundleOptions {
        dir: dir.clone(),
        force: false,
        ca_days: 30,
        leaf_days: 30,
        extra_proxy_names: Vec::new(),
    })
    .expect("certgen writes the bundle");
    let client = mixer_tls::client_config(&ClientTlsFiles {
        cert: dir.join("service.crt"),
        key: dir.join("service.key"),
        ca: dir.join("ca.crt"),
    })
    .expect("client config from the bundle");
    Pki {
        _dir: tmp,
        dir,
        client,
    }
}

/// An in-process proxy with one route, stopped on drop.
#[derive(Debug)]
pub struct RunningProxy {
    /// The TLS listener's address.
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<DrainReport>>,
}

impl RunningProxy {
    /// Stops accepting, drains for up to the drain timeout, and returns the
    /// drain report.
    pub async fn stop(mut self) -> DrainReport {
        self.shutdown.cancel();
        let task = self.task.take().expect("stopped once");
        task.await.expect("proxy task ends without panicking")
    }
}

impl Drop for RunningProxy {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts a proxy on 127.0.0.1:0 forwarding to `upstream`, with a short
/// handshake timeout and any further command-line flags in `extra`.
pub async fn start_proxy(
    pki: &Pki,
    upstream: SocketAddr,
    handshake_timeout: &str,
    extra: &[&str],
) -> RunningProxy {
    let route = format!("127.0.0.1:0={upstream}");
    let dir = pki.dir.display().to_string();
    let mut argv: Vec<String> = [
        "proxy",
        "--route",
        &route,
        "--cert",
        &format!("{dir}/proxy.crt"),
        "--key",
        &format!("{dir}/proxy.key"),
        "--client-ca",
        &format!("{dir}/ca.crt"),
        "--handshake-timeout",
        handshake_timeout,
        "--drain-timeout",
        "2s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    argv.extend(extra.iter().map(|s| s.to_string()));

    let args = Args::try_parse_from(argv).expect("valid proxy flags");
    let config = ProxyConfig::from_args(&args).expect("valid proxy config");
    let proxy = Proxy::bind(config).expect("proxy binds on loopback");
    let addr = proxy.local_addrs()[0];
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(proxy.run(shutdown.clone()));
    RunningProxy {
        addr,
        shutdown,
        task: Some(task),
    }
}

/// An in-process mixer (echo server), stopped on drop.
#[derive(Debug)]
pub struct RunningMixer {
    /// The mixer's listening address.
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl RunningMixer {
    /// Starts the mixer on `addr`, which may have port 0.
    pub fn start(addr: SocketAddr) -> Self {
        let listener = mixer_runtime::bind_listener(addr).expect("mixer binds on loopback");
        let addr = listener.local_addr().expect("bound address");
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(mixer::run(vec![listener], shutdown.clone()));
        Self {
            addr,
            shutdown,
            task: Some(task),
        }
    }

    /// Stops the mixer and waits until its listener is closed. Open
    /// connections are closed at once.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await.expect("mixer task ends without panicking");
        }
    }
}

impl Drop for RunningMixer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A mixer and a proxy in front of it.
#[derive(Debug)]
pub struct Stack {
    /// The echo server.
    pub mixer: RunningMixer,
    /// The proxy, routing to the mixer.
    pub proxy: RunningProxy,
}

/// Starts a mixer and a proxy with the given handshake timeout.
pub async fn start_stack(pki: &Pki, handshake_timeout: &str) -> Stack {
    let mixer = RunningMixer::start(loopback_any());
    let proxy = start_proxy(pki, mixer.addr, handshake_timeout, &[]).await;
    Stack { mixer, proxy }
}

/// 127.0.0.1 with port 0.
pub fn loopback_any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Binds a listener for a hand-written upstream on 127.0.0.1:0.
pub async fn bind_upstream() -> TcpListener {
    TcpListener::bind(loopback_any())
        .await
        .expect("upstream binds on loopback")
}

/// Connects to the proxy and completes the TLS handshake as the service.
pub async fn connect_tls(addr: SocketAddr, pki: &Pki) -> io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").expect("valid name");
    TlsConnector::from(pki.client.clone())
        .connect(name, tcp)
        .await
}

/// How a connection ended, seen from one of its ends.
#[derive(Debug, PartialEq, Eq)]
pub enum StreamEnd {
    /// A read returned end of stream.
    Eof,
    /// A read failed, for example with a reset.
    Error(io::ErrorKind),
}

/// Reads and discards until the stream ends, for at most `limit`. Returns
/// `None` when the stream is still open at the limit.
pub async fn wait_for_end<R>(reader: &mut R, limit: Duration) -> Option<StreamEnd>
where
    R: AsyncRead + Unpin,
{
    let drain = async {
        let mut buffer = vec![0u8; MAX_CHUNK];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) => return StreamEnd::Eof,
                Ok(_) => {}
                Err(err) => return StreamEnd::Error(err.kind()),
            }
        }
    };
    tokio::time::timeout(limit, drain).await.ok()
}

/// Resident set size of this process, from /proc/self/status.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|value| value.parse::<u64>().ok())
        .expect("VmRSS line in /proc/self/status");
    kib * 1024
}
