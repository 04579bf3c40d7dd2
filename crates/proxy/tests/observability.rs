//! The proxy's admin endpoint under real traffic: metrics after real mTLS
//! connections, and readiness around certificate loading and binding.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use certgen::{Authority, LeafSpec, Usage};
use clap::Parser;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use mixer_runtime::admin::{AdminServer, Readiness};
use mixer_tls::rustls::pki_types::ServerName;
use mixer_tls::tokio_rustls::TlsConnector;
use proxy::cli::Args;
use proxy::config::ProxyConfig;
use proxy::metrics::ProxyMetrics;
use proxy::Proxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Upper bound for waiting on a counter that a connection task updates
/// after the client has seen its side end.
const SETTLE_ATTEMPTS: usize = 100;
const SETTLE_PAUSE: Duration = Duration::from_millis(50);

/// A CA with a proxy and a client certificate, written to a temp folder.
struct Pki {
    dir: tempfile::TempDir,
    proxy_not_after: i64,
}

impl Pki {
    fn new() -> Self {
        let ca = Authority::new_root("Observability Test CA", 30).unwrap();
        let mut server = LeafSpec::new("proxy", Usage::Server, 30);
        server.dns_names = vec!["localhost".to_string()];
        let proxy = ca.issue(&server).unwrap();
        let client = ca
            .issue(&LeafSpec::new("service", Usage::Client, 30))
            .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("ca.crt", &ca.cert_pem());
        write("proxy.crt", &proxy.cert_pem);
        write("proxy.key", &proxy.key_pem);
        write("client.crt", &client.cert_pem);
        write("client.key", &client.key_pem);
        Self {
            dir,
            proxy_not_after: server.not_after.unix_timestamp(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn config(&self, upstream: SocketAddr) -> ProxyConfig {
        config_with_files(self.dir.path(), upstream)
    }

    /// Builds a connector that presents the client certificate when
    /// `with_cert` is true.
    fn connector(&self, with_cert: bool) -> TlsConnector {
        let files = mixer_tls::ClientTlsFiles {
            cert: self.path("client.crt"),
            key: self.path("client.key"),
            ca: self.path("ca.crt"),
        };
        let config = if with_cert {
            mixer_tls::client_config(&files).unwrap()
        } else {
            let anchors = mixer_tls::load_trust_anchors(&files.ca).unwrap();
            let mut roots = mixer_tls::rustls::RootCertStore::empty();
            roots.add_parsable_certificates(anchors.certs);
            let config = mixer_tls::rustls::ClientConfig::builder_with_provider(
                mixer_tls::crypto_provider(),
            )
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
            Arc::new(config)
        };
        TlsConnector::from(config)
    }
}

fn config_with_files(dir: &Path, upstream: SocketAddr) -> ProxyConfig {
    let file = |name: &str| dir.join(name).into_os_string();
    let args = Args::parse_from([
        "proxy".into(),
        "--route".into(),
        format!("127.0.0.1:0={upstream}").into(),
        "--cert".into(),
        file("proxy.crt"),
        "--key".into(),
        file("proxy.key"),
        "--client-ca".into(),
        file("ca.crt"),
        "--drain-timeout".into(),
        "5s".into(),
    ] as [std::ffi::OsString; 11]);
    ProxyConfig::from_args(&args).unwrap()
}

/// Starts an upstream that echoes every byte until the peer's FIN.
async fn start_echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (mut reader, mut writer) = stream.split();
                let _ = tokio::io::copy(&mut reader, &mut writer).await;
                let _ = writer.shutdown().await;
            });
        }
    });
    addr
}

/// Starts an admin endpoint on a free loopback port for `registry`.
async fn start_admin(metrics: &ProxyMetrics, readiness: &Readiness) -> SocketAddr {
    let server = AdminServer::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.serve(
        metrics.registry(),
        readiness.clone(),
        std::future::pending(),
    ));
    addr
}

/// Sends `GET path` to the admin endpoint and returns status and body.
async fn get(admin: SocketAddr, path: &str) -> (u16, String) {
    let stream = TcpStream::connect(admin).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, admin.to_string())
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

/// Returns the value of the sample written exactly as `series`, such as
/// `proxy_bytes_total{route="…",direction="to_upstream"}`.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

/// Scrapes until `series` has `expected`, for counters that a connection
/// task updates after the client has already seen the close. Returns the
/// last scrape.
async fn scrape_until(admin: SocketAddr, series: &str, expected: f64) -> String {
    let mut body = String::new();
    for _ in 0..SETTLE_ATTEMPTS {
        body = get(admin, "/metrics").await.1;
        if sample(&body, series) == Some(expected) {
            return body;
        }
        tokio::time::sleep(SETTLE_PAUSE).await;
    }
    panic!("{series} never reached {expected}; last scrape:\n{body}");
}

async fn connect(
    pki: &Pki,
    addr: SocketAddr,
    with_cert: bool,
) -> std::io::Result<mixer_tls::tokio_rustls::client::TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").unwrap();
    pki.connector(with_cert).connect(name, tcp).await
}

#[tokio::test]
async fn metrics_count_real_traffic() {
    let pki = Pki::new();
    let upstream = start_echo().await;
    let metrics = Arc::new(ProxyMetrics::new());
    let readiness = Readiness::new();
    let admin = start_admin(&metrics, &readiness).await;

    let proxy = Proxy::bind_observed(pki.config(upstream), metrics.clone(), readiness).unwrap();
    let proxy_addr = proxy.local_addrs()[0];
    // The label is the route as configured, listen port 0 included.
    let route = format!("127.0.0.1:0=127.0.0.1:{}", upstream.port());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(proxy.run(shutdown.clone()));

    // One client sends 100 000 bytes and reads the echo, keeping the
    // connection open: the byte counters must already show all of it.
    let sent: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let mut client = connect(&pki, proxy_addr, true).await.unwrap();
    client.write_all(&sent).await.unwrap();
    client.flush().await.unwrap();
    let mut echoed = vec![0u8; sent.len()];
    client.read_exact(&mut echoed).await.unwrap();
    assert_eq!(echoed, sent);

    let to_upstream = format!("proxy_bytes_total{{route=\"{route}\",direction=\"to_upstream\"}}");
    let to_client = format!("proxy_bytes_total{{route=\"{route}\",direction=\"to_client\"}}");
    let active = format!("proxy_connections_active{{route=\"{route}\"}}");
    let accepted = format!("proxy_connections_accepted_total{{route=\"{route}\"}}");
    let during = scrape_until(admin, &to_client, 100_000.0).await;
    assert_eq!(sample(&during, &to_upstream), Some(100_000.0), "{during}");
    assert_eq!(sample(&during, &active), Some(1.0), "{during}");
    assert_eq!(sample(&during, &accepted), Some(1.0), "{during}");

    // The client closes; the proxy counts one connection closed ok.
    client.shutdown().await.unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
    let closed_ok = format!(
        "proxy_connections_closed_total{{route=\"{route}\",outcome=\"ok\",reason=\"client_closed_first\"}}"
    );
    let after = scrape_until(admin, &closed_ok, 1.0).await;
    assert_eq!(sample(&after, &active), Some(0.0), "{after}");
    let handshakes = format!("proxy_tls_handshake_duration_seconds_count{{route=\"{route}\"}}");
    assert_eq!(sample(&after, &handshakes), Some(1.0), "{after}");
    let connects = format!("proxy_upstream_connect_duration_seconds_count{{route=\"{route}\"}}");
    assert_eq!(sample(&after, &connects), Some(1.0), "{after}");

    // A client without a certificate is counted under its reason.
    if let Ok(mut rejected) = connect(&pki, proxy_addr, false).await {
        // TLS 1.3 clients learn of the rejection on their first read.
        let _ = rejected.read(&mut [0u8; 16]).await;
    }
    let no_cert = format!(
        "proxy_connections_closed_total{{route=\"{route}\",outcome=\"handshake_failed\",reason=\"no_client_cert\"}}"
    );
    let rejected = scrape_until(admin, &no_cert, 1.0).await;
    assert_eq!(sample(&rejected, &accepted), Some(2.0), "{rejected}");
    assert_eq!(sample(&rejected, &closed_ok), Some(1.0), "{rejected}");
    assert_eq!(sample(&rejected, &handshakes), Some(1.0), "{rejected}");

    // Start-up state: certificate expiry, reload counters, build info.
    let expiry =
        "proxy_certificate_expiry_timestamp_seconds{subject=\"CN=proxy\",role=\"server_chain\"}";
    assert_eq!(
        sample(&rejected, expiry),
        Some(pki.proxy_not_after as f64),
        "{rejected}"
    );
    for result in ["ok", "error"] {
        let reloads = format!("proxy_tls_reloads_total{{result=\"{result}\"}}");
        assert_eq!(sample(&rejected, &reloads), Some(0.0), "{rejected}");
    }
    let build = format!(
        "proxy_build_info{{version=\"{}\",rustls_provider=\"aws-lc-rs\"}}",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(sample(&rejected, &build), Some(1.0), "{rejected}");

    shutdown.cancel();
    running.await.unwrap();
}

#[tokio::test]
async fn unreachable_upstream_is_counted() {
    let pki = Pki::new();
    // A port that was just free: nothing listens there.
    let closed = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let metrics = Arc::new(ProxyMetrics::new());
    let readiness = Readiness::new();
    let admin = start_admin(&metrics, &readiness).await;

    let proxy = Proxy::bind_observed(pki.config(closed), metrics.clone(), readiness).unwrap();
    let proxy_addr = proxy.local_addrs()[0];
    let route = format!("127.0.0.1:0=127.0.0.1:{}", closed.port());
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(proxy.run(shutdown.clone()));

    let mut client = connect(&pki, proxy_addr, true).await.unwrap();
    let mut rest = Vec::new();
    let _ = client.read_to_end(&mut rest).await;
    assert!(rest.is_empty());

    let refused = format!(
        "proxy_connections_closed_total{{route=\"{route}\",outcome=\"upstream_unreachable\",reason=\"refused\"}}"
    );
    let body = scrape_until(admin, &refused, 1.0).await;
    let connects = format!("proxy_upstream_connect_duration_seconds_count{{route=\"{route}\"}}");
    assert_eq!(sample(&body, &connects), Some(0.0), "{body}");

    shutdown.cancel();
    running.await.unwrap();
}

#[tokio::test]
async fn readiness_waits_for_certificates_and_listeners() {
    let pki = Pki::new();
    let upstream = start_echo().await;
    let metrics = Arc::new(ProxyMetrics::new());
    let readiness = Readiness::new();
    let admin = start_admin(&metrics, &readiness).await;

    // Nothing loaded yet: alive, but not ready.
    assert_eq!(get(admin, "/healthz").await.0, 200);
    assert_eq!(get(admin, "/readyz").await.0, 503);

    // Certificates that fail to load leave the proxy not ready.
    let empty = tempfile::tempdir().unwrap();
    let missing = config_with_files(empty.path(), upstream);
    let failed = Proxy::bind_observed(missing, metrics.clone(), readiness.clone());
    assert!(failed.is_err());
    assert_eq!(get(admin, "/readyz").await.0, 503);

    // Loaded and bound, but not yet accepting: still not ready.
    let proxy =
        Proxy::bind_observed(pki.config(upstream), metrics.clone(), readiness.clone()).unwrap();
    assert_eq!(get(admin, "/readyz").await.0, 503);

    // Accepting: ready.
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(proxy.run(shutdown.clone()));
    let mut status = 0;
    for _ in 0..SETTLE_ATTEMPTS {
        status = get(admin, "/readyz").await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(SETTLE_PAUSE).await;
    }
    assert_eq!(status, 200);

    // Stopped: not ready, still alive.
    shutdown.cancel();
    running.await.unwrap();
    assert_eq!(get(admin, "/readyz").await.0, 503);
    assert_eq!(get(admin, "/healthz").await.0, 200);
}
