//! The proxy's connection log lines under real mTLS traffic: one line per
//! event, repeated rejections rate-limited, and no key material.
//!
//! This file contains a single test because it installs the process-wide
//! tracing subscriber.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use certgen::{Authority, LeafSpec, Usage};
use clap::Parser;
use mixer_tls::rustls::pki_types::ServerName;
use mixer_tls::tokio_rustls::TlsConnector;
use proxy::cli::Args;
use proxy::config::ProxyConfig;
use proxy::Proxy;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::fmt::MakeWriter;

const SETTLE_ATTEMPTS: usize = 100;
const SETTLE_PAUSE: Duration = Duration::from_millis(50);

/// Log output collected in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// Returns the parsed lines whose message is `message`.
    fn lines_with(&self, message: &str) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|line| line["message"] == message)
            .collect()
    }

    /// Waits until `count` lines carry `message`, within a bounded number
    /// of attempts.
    async fn wait_for(&self, message: &str, count: usize) {
        for _ in 0..SETTLE_ATTEMPTS {
            if self.lines_with(message).len() >= count {
                return;
            }
            tokio::time::sleep(SETTLE_PAUSE).await;
        }
        panic!("fewer than {count} {message:?} lines:\n{}", self.text());
    }
}

/// Starts an upstream that echoes every byte until the peer's FIN.
async fn start_echo() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut reader, mut writer) = stream.split();
                let _ = tokio::io::copy(&mut reader, &mut writer).await;
                let _ = writer.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn each_connection_logs_once_and_repeats_are_limited() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(captured.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    // Certificates and files.
    let ca = Authority::new_root("Log Test CA", 30).unwrap();
    let mut server = LeafSpec::new("proxy", Usage::Server, 30);
    server.dns_names = vec!["localhost".to_string()];
    let proxy_leaf = ca.issue(&server).unwrap();
    let client_leaf = ca
        .issue(&LeafSpec::new("service", Usage::Client, 30))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("ca.crt", &ca.cert_pem());
    write("proxy.crt", &proxy_leaf.cert_pem);
    write("proxy.key", &proxy_leaf.key_pem);
    write("client.crt", &client_leaf.cert_pem);
    write("client.key", &client_leaf.key_pem);

    // The proxy in front of an echo upstream.
    let upstream = start_echo().await;
    let file = |name: &str| dir.path().join(name).into_os_string();
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
    ] as [std::ffi::OsString; 9]);
    let proxy = Proxy::bind(ProxyConfig::from_args(&args).unwrap()).unwrap();
    let addr = proxy.local_addrs()[0];
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(proxy.run(shutdown.clone()));

    // One client with a certificate sends 10 bytes and closes.
    let with_cert = mixer_tls::client_config(&mixer_tls::ClientTlsFiles {
        cert: dir.path().join("client.crt"),
        key: dir.path().join("client.key"),
        ca: dir.path().join("ca.crt"),
    })
    .unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut client = TlsConnector::from(with_cert)
        .connect(name.clone(), tcp)
        .await
        .unwrap();
    client.write_all(b"0123456789").await.unwrap();
    let mut echo = [0u8; 10];
    client.read_exact(&mut echo).await.unwrap();
    client.shutdown().await.unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).await.unwrap();
    captured.wait_for("connection closed", 1).await;

    // Three clients without a certificate, one after the other.
    let anchors = mixer_tls::load_trust_anchors(&dir.path().join("ca.crt")).unwrap();
    let mut roots = mixer_tls::rustls::RootCertStore::empty();
    roots.add_parsable_certificates(anchors.certs);
    let no_cert = Arc::new(
        mixer_tls::rustls::ClientConfig::builder_with_provider(mixer_tls::crypto_provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    for attempt in 1..=3 {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let connector = TlsConnector::from(no_cert.clone());
        if let Ok(mut rejected) = connector.connect(name.clone(), tcp).await {
            // TLS 1.3 clients learn of the rejection on their first read.
            let _ = rejected.read(&mut [0u8; 16]).await;
        }
        captured.wait_for("connection rejected", attempt).await;
    }

    shutdown.cancel();
    running.await.unwrap();

    // The accepted connection: one line when it was set up, one at close.
    let accepted = captured.lines_with("connection accepted");
    assert_eq!(accepted.len(), 1, "{}", captured.text());
    assert_eq!(accepted[0]["level"], "INFO");
    assert_eq!(accepted[0]["client.cn"], "service");
    let closed = captured.lines_with("connection closed");
    assert_eq!(closed.len(), 1, "{}", captured.text());
    assert_eq!(closed[0]["level"], "INFO");
    assert_eq!(closed[0]["outcome"], "ok");
    assert_eq!(closed[0]["bytes.to_upstream"], 10);
    assert_eq!(closed[0]["bytes.to_client"], 10);

    // Rejections: one line each, only the first at warn.
    let rejected = captured.lines_with("connection rejected");
    assert_eq!(rejected.len(), 3, "{}", captured.text());
    let levels: Vec<&str> = rejected
        .iter()
        .map(|line| line["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels, ["WARN", "DEBUG", "DEBUG"]);
    for line in &rejected {
        assert_eq!(line["reason"], "no_client_cert");
        assert_eq!(line["outcome"], "handshake_failed");
    }

    // The held-back rejections are reported in one summary at shutdown.
    let summaries = captured.lines_with("repeated warnings suppressed");
    assert_eq!(summaries.len(), 1, "{}", captured.text());
    assert_eq!(summaries[0]["level"], "WARN");
    assert_eq!(summaries[0]["suppressed"], 2);
    assert_eq!(summaries[0]["kind"], "handshake_failed:no_client_cert");

    // Nothing of the private keys appears in the log.
    let text = captured.text();
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    for key in [&proxy_leaf.key_pem, &client_leaf.key_pem] {
        let body = key.lines().nth(1).unwrap();
        assert!(!text.contains(body), "{text}");
    }
    assert!(
        !text
            .lines()
            .any(|line| line.contains("\"level\":\"ERROR\"")),
        "{text}"
    );
}
