//! The mixer's metrics after real echo traffic, and its admin endpoint and
//! `healthcheck` subcommand as the built binary.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use mixer::metrics::MixerMetrics;
use mixer_runtime::admin::Readiness;
use prometheus_client::encoding::prometheus_text;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

const SETTLE_ATTEMPTS: usize = 100;
const SETTLE_PAUSE: Duration = Duration::from_millis(50);

fn encode(metrics: &MixerMetrics) -> String {
    let mut text = String::new();
    prometheus_text::encode(&mut text, &metrics.registry()).unwrap();
    text
}

fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

/// Encodes the metrics until `series` has `expected`, within a bounded
/// number of attempts, and returns the last encoding.
async fn settle(metrics: &MixerMetrics, series: &str, expected: f64) -> String {
    let mut text = String::new();
    for _ in 0..SETTLE_ATTEMPTS {
        text = encode(metrics);
        if sample(&text, series) == Some(expected) {
            return text;
        }
        tokio::time::sleep(SETTLE_PAUSE).await;
    }
    panic!("{series} never reached {expected}:\n{text}");
}

#[tokio::test]
async fn metrics_count_connections_and_bytes_per_port() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let port = addr.port();
    let metrics = Arc::new(MixerMetrics::new());
    let readiness = Readiness::new();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(mixer::run_observed(
        vec![listener],
        shutdown.clone(),
        metrics.clone(),
        readiness.clone(),
    ));

    let mut client = TcpStream::connect(addr).await.unwrap();
    let sent = vec![7u8; 50_000];
    client.write_all(&sent).await.unwrap();
    let mut echoed = vec![0u8; sent.len()];
    client.read_exact(&mut echoed).await.unwrap();
    assert!(readiness.is_ready());

    // The echo may reach the client before the mixer counts it as sent.
    let received = format!("mixer_bytes_total{{port=\"{port}\",direction=\"received\"}}");
    let echoed_bytes = format!("mixer_bytes_total{{port=\"{port}\",direction=\"sent\"}}");
    let active = format!("mixer_connections_active{{port=\"{port}\"}}");
    let accepted = format!("mixer_connections_accepted_total{{port=\"{port}\"}}");
    let open = settle(&metrics, &echoed_bytes, 50_000.0).await;
    assert_eq!(sample(&open, &received), Some(50_000.0), "{open}");
    assert_eq!(sample(&open, &active), Some(1.0), "{open}");
    assert_eq!(sample(&open, &accepted), Some(1.0), "{open}");

    client.shutdown().await.unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).await.unwrap();
    let closed = settle(&metrics, &active, 0.0).await;
    assert_eq!(sample(&closed, &accepted), Some(1.0), "{closed}");

    shutdown.cancel();
    running.await.unwrap();
    assert!(!readiness.is_ready());
}

/// Returns a loopback address whose port was free a moment ago.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn healthcheck(admin: SocketAddr) -> Option<i32> {
    Command::new(env!("CARGO_BIN_EXE_mixer"))
        .args(["healthcheck", "--admin", &admin.to_string()])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .code()
}

/// Ends the mixer process this test started.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn healthcheck_follows_the_running_binary() {
    let admin = free_addr();
    let listen = free_addr();
    let mixer = Command::new(env!("CARGO_BIN_EXE_mixer"))
        .args(["--listen", &listen.to_string()])
        .env("MIXER_ADMIN_LISTEN", admin.to_string())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut mixer = Running(mixer);

    let mut code = None;
    for _ in 0..SETTLE_ATTEMPTS {
        code = healthcheck(admin);
        if code == Some(0) {
            break;
        }
        std::thread::sleep(SETTLE_PAUSE);
    }
    assert_eq!(code, Some(0));

    mixer.0.kill().unwrap();
    mixer.0.wait().unwrap();
    assert_eq!(healthcheck(admin), Some(1));
}
