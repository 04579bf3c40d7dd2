//! The `proxy healthcheck` subcommand, run as the built binary against an
//! admin endpoint served in the test.

use std::net::SocketAddr;
use std::process::Output;
use std::time::Duration;

use mixer_runtime::admin::{AdminServer, Readiness};
use tokio::process::Command;

/// Generous bound on one healthcheck run; the subcommand gives up after 2 s.
const RUN_LIMIT: Duration = Duration::from_secs(20);

async fn start_admin(readiness: &Readiness) -> SocketAddr {
    let server = AdminServer::bind("127.0.0.1:0").await.unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.serve(
        Default::default(),
        readiness.clone(),
        std::future::pending(),
    ));
    addr
}

/// Runs `proxy healthcheck` with `args`, with PROXY_ADMIN_LISTEN set to
/// `env` or removed.
async fn healthcheck(args: &[&str], env: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_proxy"));
    command.arg("healthcheck").args(args);
    match env {
        Some(value) => command.env("PROXY_ADMIN_LISTEN", value),
        None => command.env_remove("PROXY_ADMIN_LISTEN"),
    };
    tokio::time::timeout(RUN_LIMIT, command.output())
        .await
        .expect("healthcheck did not finish")
        .unwrap()
}

fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn ready_endpoint_exits_zero() {
    let readiness = Readiness::new();
    readiness.set_ready();
    let admin = start_admin(&readiness).await;

    let output = healthcheck(&["--admin", &admin.to_string()], None).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(output.stderr.is_empty(), "{output:?}");
}

#[tokio::test]
async fn unspecified_address_from_env_means_loopback() {
    let readiness = Readiness::new();
    readiness.set_ready();
    let admin = start_admin(&readiness).await;

    let listen = format!("0.0.0.0:{}", admin.port());
    let output = healthcheck(&[], Some(&listen)).await;
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

#[tokio::test]
async fn not_ready_endpoint_exits_one() {
    let readiness = Readiness::new();
    let admin = start_admin(&readiness).await;

    let output = healthcheck(&["--admin", &admin.to_string()], None).await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("503"), "{lines:?}");
}

#[tokio::test]
async fn missing_endpoint_exits_one() {
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    let output = healthcheck(&["--admin", &closed.to_string()], None).await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("cannot connect"), "{lines:?}");
    assert!(lines[0].contains(&closed.to_string()), "{lines:?}");
}

#[tokio::test]
async fn missing_address_names_the_variable() {
    let output = healthcheck(&[], None).await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("PROXY_ADMIN_LISTEN"), "{lines:?}");
}

#[tokio::test]
async fn silent_endpoint_times_out() {
    // The kernel completes the TCP handshake, but nothing ever responds.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();

    let output = healthcheck(&["--admin", &addr.to_string()], None).await;
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("timed out"), "{lines:?}");
    drop(silent);
}
