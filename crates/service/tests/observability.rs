//! The service's round-trip metrics against a proxy address where nothing
//! listens, and its readiness as the built binary.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use certgen::{Authority, LeafSpec, Usage};
use prometheus_client::encoding::prometheus_text;
use service::metrics::ServiceMetrics;
use service::{run_probe_observed, ProbeSettings, Target};
use tokio_util::sync::CancellationToken;

const SETTLE_ATTEMPTS: usize = 100;
const SETTLE_PAUSE: Duration = Duration::from_millis(50);

/// Writes a CA and a client certificate; returns the folder.
fn write_pki() -> tempfile::TempDir {
    let ca = Authority::new_root("Service Test CA", 30).unwrap();
    let client = ca
        .issue(&LeafSpec::new("service", Usage::Client, 30))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.crt"), ca.cert_pem()).unwrap();
    std::fs::write(dir.path().join("service.crt"), &client.cert_pem).unwrap();
    std::fs::write(dir.path().join("service.key"), &client.key_pem).unwrap();
    dir
}

/// Returns a loopback address whose port was free a moment ago.
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

#[tokio::test]
async fn failed_round_trips_are_counted() {
    let pki = write_pki();
    let tls = mixer_tls::client_config(&mixer_tls::ClientTlsFiles {
        cert: pki.path().join("service.crt"),
        key: pki.path().join("service.key"),
        ca: pki.path().join("ca.crt"),
    })
    .unwrap();
    let closed = free_addr();
    let target = Target::parse(&closed.to_string(), None).unwrap();
    let settings = ProbeSettings {
        targets: vec![target],
        interval: Duration::from_millis(10),
        rounds: Some(3),
        timeout: Duration::from_secs(5),
        message_size: 16,
    };
    let metrics = Arc::new(ServiceMetrics::new());

    let report =
        run_probe_observed(&settings, tls, CancellationToken::new(), metrics.clone()).await;
    assert_eq!(report.failed, 3);

    let mut text = String::new();
    prometheus_text::encode(&mut text, &metrics.registry()).unwrap();
    let failed = format!("service_round_trips_total{{target=\"{closed}\",result=\"failed\"}}");
    let ok = format!("service_round_trips_total{{target=\"{closed}\",result=\"ok\"}}");
    assert_eq!(sample(&text, &failed), Some(3.0), "{text}");
    assert_eq!(sample(&text, &ok), Some(0.0), "{text}");
}

fn healthcheck(admin: SocketAddr) -> Option<i32> {
    Command::new(env!("CARGO_BIN_EXE_service"))
        .args(["healthcheck", "--admin", &admin.to_string()])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .code()
}

/// Ends the service process this test started.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn running_probe_is_ready() {
    let pki = write_pki();
    let admin = free_addr();
    let file = |name: &str| pki.path().join(name).into_os_string();
    let service = Command::new(env!("CARGO_BIN_EXE_service"))
        .arg("--connect")
        .arg(free_addr().to_string())
        .arg("--cert")
        .arg(file("service.crt"))
        .arg("--key")
        .arg(file("service.key"))
        .arg("--ca")
        .arg(file("ca.crt"))
        .args(["--admin-listen", &admin.to_string()])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _service = Running(service);

    // Ready means configured and probing, even while the proxy is down.
    let mut code = None;
    for _ in 0..SETTLE_ATTEMPTS {
        code = healthcheck(admin);
        if code == Some(0) {
            break;
        }
        std::thread::sleep(SETTLE_PAUSE);
    }
    assert_eq!(code, Some(0));
}
