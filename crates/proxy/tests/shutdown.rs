//! Graceful stop: accepting ends at once, open connections drain under the
//! drain timeout, and the rest are cut and counted.

mod support;

use std::time::Duration;

use sha2::{Digest, Sha256};
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn args(pki: &Pki, upstream: std::net::SocketAddr, drain: &str) -> Vec<String> {
    let mut args = pki.tls_args();
    args.extend(route_to(upstream));
    args.extend(["--drain-timeout".to_string(), drain.to_string()]);
    args
}

#[tokio::test]
async fn transfer_in_flight_completes_across_shutdown() {
    let pki = Pki::new();
    let (upstream, _echo) = echo_upstream().await;
    let proxy = RunningProxy::start(&args(&pki, upstream, "20s"));
    let addr = proxy.addr();

    let payload: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let stream = connect(addr, pki.client_config(&pki.client("desk-1")))
        .await
        .expect("handshake");
    let (mut read, mut write) = tokio::io::split(stream);
    let reader = tokio::spawn(async move {
        let mut back = Vec::new();
        read.read_to_end(&mut back).await.map(|_| back)
    });

    let (first, rest) = payload.split_at(payload.len() / 2);
    write.write_all(first).await.expect("first half");
    let shutdown = proxy.shutdown.clone();
    let stopped = tokio::spawn(proxy.stop());
    shutdown.cancelled().await;

    // The copy goes on after the signal: send the rest and read it all back.
    write.write_all(rest).await.expect("second half");
    write.shutdown().await.expect("half-close");
    let back = tokio::time::timeout(STEP * 3, reader)
        .await
        .expect("echo finishes")
        .expect("reader task")
        .expect("echo");
    assert_eq!(back.len(), payload.len());
    assert_eq!(Sha256::digest(&back), Sha256::digest(&payload));

    let report = stopped.await.expect("stop task");
    assert_eq!(report.drained, 1);
    assert_eq!(report.cut, 0);
}

#[tokio::test]
async fn connection_open_at_drain_timeout_is_cut_and_counted() {
    let pki = Pki::new();
    let (upstream, _echo) = echo_upstream().await;
    let proxy = RunningProxy::start(&args(&pki, upstream, "1s"));
    let config = pki.client_config(&pki.client("desk-1"));

    // One client finishes during the drain, the other stays open.
    let mut finishing = connect(proxy.addr(), config.clone()).await.expect("first");
    let mut lingering = connect(proxy.addr(), config).await.expect("second");
    for stream in [&mut finishing, &mut lingering] {
        stream.write_all(b"hello").await.expect("write");
        let mut buf = [0u8; 5];
        stream
            .read_exact(&mut buf)
            .await
            .expect("echo before shutdown");
    }

    let shutdown = proxy.shutdown.clone();
    let stopped = tokio::spawn(proxy.stop());
    shutdown.cancelled().await;
    let back = echo_round_trip(&mut finishing, b"bye").await.expect("echo");
    assert_eq!(back, b"bye");

    let report = tokio::time::timeout(STEP, stopped)
        .await
        .expect("proxy stops soon after the drain timeout")
        .expect("stop task");
    assert_eq!(report.drained, 1);
    assert_eq!(report.cut, 1);

    // The cut client sees its connection end.
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(STEP, lingering.read(&mut buf))
        .await
        .expect("cut connection ends");
    assert!(matches!(read, Ok(0) | Err(_)), "read {read:?}");
}

#[tokio::test]
async fn new_connections_are_refused_after_shutdown_starts() {
    let pki = Pki::new();
    let (upstream, _echo) = echo_upstream().await;
    let proxy = RunningProxy::start(&args(&pki, upstream, "20s"));
    let addr = proxy.addr();
    let config = pki.client_config(&pki.client("desk-1"));

    // An open connection keeps the drain going while new ones are tried.
    let mut open = connect(addr, config.clone()).await.expect("handshake");
    open.write_all(b"x").await.expect("write");
    let mut buf = [0u8; 1];
    open.read_exact(&mut buf).await.expect("echo");

    let shutdown = proxy.shutdown.clone();
    let stopped = tokio::spawn(proxy.stop());
    shutdown.cancelled().await;

    // The listener closes as soon as the proxy task receives the cancellation.
    let mut refused = false;
    for _ in 0..100 {
        if connect_refused(addr).await {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "{addr} still accepts connections during the drain");

    let back = echo_round_trip(&mut open, b"done").await.expect("echo");
    assert_eq!(back, b"done");
    let report = stopped.await.expect("stop task");
    assert_eq!(report.cut, 0);
}

#[test]
fn binary_exits_zero_after_sigterm() {
    let pki = Pki::new();
    let mut args = pki.tls_args();
    args.extend(
        [
            "--route",
            "127.0.0.1:0=127.0.0.1:9",
            "--drain-timeout",
            "5s",
        ]
        .map(String::from),
    );
    let mut proxy = ProxyProcess::spawn(&args);
    assert!(
        proxy.wait_for_line(&["proxy ready"], STEP).is_some(),
        "no ready line in {:?}",
        proxy.seen
    );

    proxy.signal("TERM");
    let stopped = proxy.wait_for_line(&["proxy stopped"], STEP);
    let stopped = stopped.unwrap_or_else(|| panic!("no stop line in {:?}", proxy.seen));
    assert!(stopped.contains("\"drained\":0"), "{stopped}");
    assert!(stopped.contains("\"cut\":0"), "{stopped}");
    assert_eq!(proxy.wait(STEP).code(), Some(0));
}

#[tokio::test]
async fn handshake_in_progress_is_cut_at_drain_timeout() {
    let pki = Pki::new();
    let (upstream, _echo) = echo_upstream().await;
    let mut args = args(&pki, upstream, "500ms");
    args.extend(["--handshake-timeout".to_string(), "60s".to_string()]);
    let proxy = RunningProxy::start(&args);

    // Five bytes of a TLS record header, then nothing: the handshake would
    // wait a minute, far past the drain timeout.
    let mut stalled = tokio::net::TcpStream::connect(proxy.addr())
        .await
        .expect("tcp connect");
    stalled.write_all(&[22, 3, 1, 0, 200]).await.expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;

    let report = tokio::time::timeout(STEP, proxy.stop())
        .await
        .expect("proxy stops soon after the drain timeout");
    assert_eq!(report.drained, 0);
    assert_eq!(report.cut, 1);

    // The cut ends the handshake itself, not only the count.
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(STEP, stalled.read(&mut buf))
        .await
        .expect("stalled connection is closed by the cut");
    assert!(matches!(read, Ok(0) | Err(_)), "read {read:?}");
}
