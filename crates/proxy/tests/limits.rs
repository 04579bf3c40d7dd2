//! Connection limits and timeouts: handshake timeout, idle timeout, maximum
//! connections, and an upstream that is down.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn args(pki: &Pki, routes: &[String], extra: &[&str]) -> Vec<String> {
    let mut args = pki.tls_args();
    for route in routes {
        args.extend(["--route".to_string(), route.clone()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// Reads until end of stream or error, bounded by [`STEP`].
async fn wait_closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(STEP, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "connection still open after {STEP:?}");
}

/// Retries a handshake and echo until it works, bounded in count, for a
/// slot that is released just after the client sees its connection end.
async fn eventually_echoes(addr: SocketAddr, pki: &Pki) {
    let config = pki.client_config(&pki.client("desk-1"));
    for _ in 0..50 {
        if let Ok(mut stream) = connect(addr, config.clone()).await {
            if let Ok(back) = echo_round_trip(&mut stream, b"ping").await {
                assert_eq!(back, b"ping");
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no connection to {addr} succeeded");
}

#[tokio::test]
async fn stalled_handshake_is_dropped_and_slot_freed() {
    let pki = Pki::new();
    let (upstream, _echo) = echo_upstream().await;
    let proxy = RunningProxy::start(&args(
        &pki,
        &route_to(upstream)[1..],
        &["--handshake-timeout", "500ms", "--max-connections", "1"],
    ));
    let addr = proxy.addr();

    // Five bytes of a TLS record header, then nothing.
    let mut stalled = TcpStream::connect(addr).await.expect("tcp connect");
    stalled.write_all(&[22, 3, 1, 0, 200]).await.expect("write");

    // While the stalled client has the only slot, others are turned away.
    let config = pki.client_config(&pki.client("desk-1"));
    let rejected = tokio::time::timeout(STEP, connect(addr, config)).await;
    assert!(
        matches!(rejected, Ok(Err(_))),
        "second connection was not rejected at once: {rejected:?}"
    );

    wait_closed(&mut stalled).await;
    eventually_echoes(addr, &pki).await;
}

#[tokio::test]
async fn route_limit_rejects_new_and_keeps_open_ones() {
    let pki = Pki::new();
    let (upstream, _echo) = echo_upstream().await;
    let limited = format!("127.0.0.1:0={upstream};max-connections=1");
    let unlimited = format!("127.0.0.1:0={upstream}");
    let proxy = RunningProxy::start(&args(&pki, &[limited, unlimited], &[]));
    let config = pki.client_config(&pki.client("desk-1"));

    let mut open = connect(proxy.addrs[0], config.clone())
        .await
        .expect("first connection");
    open.write_all(b"one").await.expect("write");
    let mut buf = [0u8; 3];
    open.read_exact(&mut buf).await.expect("echo");

    let rejected = tokio::time::timeout(STEP, connect(proxy.addrs[0], config.clone())).await;
    assert!(matches!(rejected, Ok(Err(_))), "{rejected:?}");

    // The other route has no limit of its own, and the open connection
    // goes on untouched.
    assert_echo_works(proxy.addrs[1], config).await;
    let back = echo_round_trip(&mut open, b"two").await.expect("echo");
    assert_eq!(back, b"two");
}

#[tokio::test]
async fn global_limit_spans_routes() {
    let pki = Pki::new();
    let (upstream, _echo) = echo_upstream().await;
    let route = format!("127.0.0.1:0={upstream}");
    let proxy = RunningProxy::start(&args(
        &pki,
        &[route.clone(), route],
        &["--max-connections", "1"],
    ));
    let config = pki.client_config(&pki.client("desk-1"));

    let mut open = connect(proxy.addrs[0], config.clone())
        .await
        .expect("first connection");
    open.write_all(b"x").await.expect("write");
    let mut buf = [0u8; 1];
    open.read_exact(&mut buf).await.expect("echo");

    let rejected = tokio::time::timeout(STEP, connect(proxy.addrs[1], config)).await;
    assert!(matches!(rejected, Ok(Err(_))), "{rejected:?}");
    drop(open);
    eventually_echoes(proxy.addrs[1], &pki).await;
}

#[tokio::test]
async fn idle_connection_is_closed_and_active_one_kept() {
    let pki = Pki::new();
    let (upstream, _echo) = echo_upstream().await;
    let idle_route = format!("127.0.0.1:0={upstream};idle=1s");
    let proxy = RunningProxy::start(&args(&pki, &[idle_route], &[]));
    let config = pki.client_config(&pki.client("desk-1"));

    // Traffic every 100 ms keeps a connection open past the timeout.
    let mut active = connect(proxy.addr(), config.clone()).await.expect("active");
    for _ in 0..20 {
        active.write_all(b"k").await.expect("write while active");
        let mut buf = [0u8; 1];
        active
            .read_exact(&mut buf)
            .await
            .expect("echo while active");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A silent one is closed.
    let mut silent = connect(proxy.addr(), config).await.expect("silent");
    silent.write_all(b"s").await.expect("write");
    let mut buf = [0u8; 1];
    silent.read_exact(&mut buf).await.expect("echo");
    let read = tokio::time::timeout(STEP, silent.read(&mut buf))
        .await
        .expect("idle connection is closed");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

#[test]
fn unreachable_upstream_closes_clients_and_leaks_nothing() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new();

    // A port with nothing listening on it.
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let upstream = free.local_addr().expect("addr");
    drop(free);

    let mut proxy = ProxyProcess::spawn(&args(
        &pki,
        &[format!("127.0.0.1:0={upstream}")],
        &["--connect-timeout", "2s"],
    ));
    let addr = proxy.listen_addr();
    let config = pki.client_config(&pki.client("desk-1"));
    let fd_dir = format!("/proc/{}/fd", proxy.child.id());
    let fds = || std::fs::read_dir(&fd_dir).map(|d| d.count());

    // One connection first, so lazily opened descriptors exist before the
    // count is taken.
    let close_cleanly = |config| async move {
        let mut stream = connect(addr, config).await.expect("handshake completes");
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(STEP, stream.read(&mut buf))
            .await
            .expect("proxy closes the connection");
        assert_eq!(read.expect("clean close_notify, not a reset"), 0);
    };
    runtime.block_on(close_cleanly(config.clone()));
    assert!(
        proxy
            .wait_for_line(&["upstream unreachable", "upstream_unreachable"], STEP)
            .is_some(),
        "no unreachable line in {:?}",
        proxy.seen
    );
    let before = fds().expect("fd count");

    for _ in 0..20 {
        runtime.block_on(close_cleanly(config.clone()));
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = fds().expect("fd count");
    assert!(after <= before, "descriptors grew from {before} to {after}");

    // The next connection after the upstream comes back is forwarded.
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(upstream)
            .await
            .expect("rebind");
        let echo = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let (mut read, mut write) = stream.split();
            let _ = tokio::io::copy(&mut read, &mut write).await;
        });
        assert_echo_works(addr, config).await;
        echo.abort();
    });

    // No connection task is left behind once every client has gone.
    proxy.signal("TERM");
    let draining = proxy.wait_for_line(&["draining connections"], STEP);
    let draining = draining.unwrap_or_else(|| panic!("no drain line in {:?}", proxy.seen));
    assert!(draining.contains("\"open\":0"), "{draining}");
    assert_eq!(proxy.wait(STEP).code(), Some(0));
}

/// Returns the resident memory in KiB and the open descriptors of `pid`.
fn usage(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS line");
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .count();
    (rss_kib, fds)
}

#[test]
fn flood_beyond_limit_is_refused_with_bounded_resources() {
    const LIMIT: usize = 20;
    const FLOOD: usize = 500;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new();
    let (upstream, _echo) = runtime.block_on(echo_upstream());
    let limit = LIMIT.to_string();
    let mut proxy = ProxyProcess::spawn(&args(
        &pki,
        &[format!("127.0.0.1:0={upstream}")],
        &["--max-connections", &limit],
    ));
    let addr = proxy.listen_addr();
    let pid = proxy.child.id();
    let config = pki.client_config(&pki.client("desk-1"));

    runtime.block_on(async {
        // One full connection first, so lazily created state exists before
        // the baseline is taken.
        assert_echo_works(addr, config.clone()).await;
        let before = usage(pid);

        let mut held = Vec::with_capacity(LIMIT);
        for _ in 0..LIMIT {
            held.push(
                connect(addr, config.clone())
                    .await
                    .expect("within the limit"),
            );
        }

        // Every connection beyond the limit is closed at once, before any
        // TLS byte, and never queued.
        for attempt in 0..FLOOD {
            let mut tcp = TcpStream::connect(addr).await.expect("TCP connect");
            let mut byte = [0u8; 1];
            let read = tokio::time::timeout(STEP, tcp.read(&mut byte)).await;
            assert!(
                matches!(read, Ok(Ok(0)) | Ok(Err(_))),
                "attempt {attempt} was not closed at once: {read:?}"
            );
        }
        let during = usage(pid);

        // The established connections keep working.
        for stream in &mut held {
            stream.write_all(b"still here").await.expect("write");
            let mut back = [0u8; 10];
            stream.read_exact(&mut back).await.expect("echo");
            assert_eq!(&back, b"still here");
        }

        drop(held);
        eventually_echoes(addr, &pki).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = usage(pid);

        // Each held connection has two descriptors (client and upstream);
        // the flood must add none that stay.
        assert!(
            during.1 <= before.1 + 2 * LIMIT + 8,
            "descriptors grew from {} to {} during the flood",
            before.1,
            during.1
        );
        assert!(
            after.1 <= before.1 + 4,
            "descriptors did not return: {} before, {} after",
            before.1,
            after.1
        );
        assert!(
            during.0 <= before.0 + 8 * 1024,
            "memory grew from {} KiB to {} KiB during the flood",
            before.0,
            during.0
        );
    });
}
