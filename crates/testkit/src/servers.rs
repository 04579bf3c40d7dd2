use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use clap::Parser;
use mixer_tls::ServerTlsFiles;
use proxy::cli::Args;
use proxy::config::ProxyConfig;
use proxy::Proxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::CertSet;

/// A server running in the test's runtime. Dropping it cancels its shutdown
/// token, so it stops accepting and drains.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    _stop: DropGuard,
}

/// A mixer with a proxy in front of it, both on loopback.
#[derive(Debug)]
pub struct Stack {
    /// The mixer, reached directly in plain TCP.
    pub mixer: Running,
    /// The proxy, forwarding to the mixer.
    pub proxy: Running,
}

/// Starts the mixer's echo server on an ephemeral loopback port.
pub async fn start_mixer() -> Running {
    let listener = loopback_listener().await;
    let addr = local_addr(&listener);
    let token = CancellationToken::new();
    tokio::spawn(mixer::run(vec![listener], token.clone()));
    Running {
        addr,
        _stop: token.drop_guard(),
    }
}

/// Builds a proxy configuration with one route from an ephemeral loopback
/// port to `upstream`, and timeouts short enough for tests. It goes through
/// the command-line parser, so every other setting keeps its default.
pub fn proxy_config(files: ServerTlsFiles, upstream: SocketAddr) -> ProxyConfig {
    let route = format!("127.0.0.1:0={upstream}");
    let argv = [
        "proxy".to_string(),
        format!("--route={route}"),
        format!("--cert={}", files.cert.display()),
        format!("--key={}", files.key.display()),
        format!("--client-ca={}", files.client_ca.display()),
        "--handshake-timeout=5s".to_string(),
        "--connect-timeout=5s".to_string(),
        "--drain-timeout=2s".to_string(),
    ];
    let args =
        Args::try_parse_from(argv).unwrap_or_else(|err| panic!("invalid test arguments: {err}"));
    let mut config =
        ProxyConfig::from_args(&args).unwrap_or_else(|err| panic!("invalid test config: {err}"));
    config.tls_files.crls = files.crls;
    config
}

/// Starts a proxy with `files` in front of `upstream`.
pub async fn start_proxy(files: ServerTlsFiles, upstream: SocketAddr) -> Running {
    start_proxy_with(proxy_config(files, upstream)).await
}

/// Starts a proxy with `config` and returns the address of its first route.
pub async fn start_proxy_with(config: ProxyConfig) -> Running {
    let proxy = Proxy::bind(config).unwrap_or_else(|err| panic!("cannot start the proxy: {err:#}"));
    let addr = proxy.local_addrs()[0];
    let token = CancellationToken::new();
    tokio::spawn(proxy.run(token.clone()));
    Running {
        addr,
        _stop: token.drop_guard(),
    }
}

/// Starts a mixer and a proxy in front of it with the certificates of
/// `certs`.
pub async fn start_stack(certs: &CertSet) -> Stack {
    let mixer = start_mixer().await;
    let proxy = start_proxy(certs.server_files(), mixer.addr).await;
    Stack { mixer, proxy }
}

/// A plain TCP echo server that counts the connections it accepted and the
/// bytes it received, to show what reached the upstream of a proxy.
#[derive(Debug)]
pub struct CountingEcho {
    /// The address it listens on.
    pub addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    bytes: Arc<AtomicU64>,
    _stop: DropGuard,
}

impl CountingEcho {
    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Bytes received so far, over all connections.
    pub fn bytes_received(&self) -> u64 {
        self.bytes.load(Ordering::SeqCst)
    }
}

/// Starts a [`CountingEcho`] on an ephemeral loopback port.
pub async fn start_counting_echo() -> CountingEcho {
    let listener = loopback_listener().await;
    let addr = local_addr(&listener);
    let connections = Arc::new(AtomicUsize::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let token = CancellationToken::new();

    let accept = {
        let connections = connections.clone();
        let bytes = bytes.clone();
        async move {
            while let Ok((stream, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(echo_counting(stream, bytes.clone()));
            }
        }
    };
    let stop = token.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = accept => {}
            _ = stop.cancelled() => {}
        }
    });

    CountingEcho {
        addr,
        connections,
        bytes,
        _stop: token.drop_guard(),
    }
}

async fn echo_counting(mut stream: TcpStream, bytes: Arc<AtomicU64>) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        bytes.fetch_add(n as u64, Ordering::SeqCst);
        if stream.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    let _ = stream.shutdown().await;
}

async fn loopback_listener() -> TcpListener {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("cannot bind a loopback listener")
}

fn local_addr(listener: &TcpListener) -> SocketAddr {
    listener
        .local_addr()
        .expect("cannot read the listener address")
}
