//! Upstreams that fail: a reset in the middle of a stream, an upstream that
//! accepts and never reads, and a mixer stopped and started again on the
//! same port. The client's stream must end rather than hang, and the proxy
//! must serve the next connection.

mod fault_kit;

use std::time::Duration;

use fault_kit::{
    bind_upstream, connect_tls, echo_round_trip, make_pki, start_proxy, wait_for_end, RunningMixer,
    PROMPT,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Upper bound on bytes a client can push into a connection whose upstream
/// never reads: the largest autotuned send and receive buffers of both
/// loopback hops (tcp_wmem[2] and tcp_rmem[2]), plus 8 MiB for the proxy's
/// and rustls's own buffers. Linux defaults are 4 MiB and 6 MiB, but hosts
/// raise them, so the values are read from /proc.
fn stalled_max_bytes() -> u64 {
    let max_of = |name: &str| -> u64 {
        let path = format!("/proc/sys/net/ipv4/{name}");
        let text = std::fs::read_to_string(&path).unwrap();
        let last = text.split_whitespace().last().unwrap();
        last.parse().unwrap()
    };
    2 * (max_of("tcp_wmem") + max_of("tcp_rmem")) + (8 << 20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_reset_mid_stream_ends_client_stream() {
    let pki = make_pki();
    let upstream = bind_upstream().await;
    let upstream_addr = upstream.local_addr().unwrap();
    let proxy = start_proxy(&pki, upstream_addr, "2s", &[]).await;

    let client = connect_tls(proxy.addr, &pki).await.unwrap();
    let (mut reader, mut writer) = tokio::io::split(client);
    let writing = tokio::spawn(async move {
        let chunk = vec![0x33u8; 16 * 1024];
        for _ in 0..4096 {
            if writer.write_all(&chunk).await.is_err() {
                return;
            }
        }
    });

    // The upstream takes a little, then resets the connection.
    let (mut conn, _) = upstream.accept().await.unwrap();
    let mut first = vec![0u8; 64 * 1024];
    conn.read_exact(&mut first).await.unwrap();
    conn.set_zero_linger().unwrap();
    drop(conn);

    let end = wait_for_end(&mut reader, PROMPT).await;
    assert!(
        end.is_some(),
        "client stream still open after upstream reset"
    );
    tokio::time::timeout(PROMPT, writing)
        .await
        .expect("client writes fail after the reset")
        .unwrap();

    // The next connection reaches a working upstream on the same port.
    drop(upstream);
    let mixer = RunningMixer::start(upstream_addr);
    let next = connect_tls(proxy.addr, &pki).await.unwrap();
    echo_round_trip(next, 1 << 20, 10).await.unwrap();
    mixer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_never_reading_stalls_only_its_connection() {
    let pki = make_pki();
    let upstream = bind_upstream().await;
    let proxy = start_proxy(&pki, upstream.local_addr().unwrap(), "2s", &[]).await;

    // The first connection's upstream accepts and never reads; every later
    // connection is echoed.
    let (stalled_tx, stalled_rx) = tokio::sync::oneshot::channel();
    let upstream_task = tokio::spawn(async move {
        let (stalled, _) = upstream.accept().await.unwrap();
        stalled_tx.send(stalled).unwrap();
        for _ in 0..4 {
            let (mut conn, _) = upstream.accept().await.unwrap();
            tokio::spawn(async move {
                let (mut r, mut w) = conn.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
                let _ = w.shutdown().await;
            });
        }
    });

    // The client pushes until back-pressure stops it: no write completes
    // for 500 ms.
    let stalled_client = connect_tls(proxy.addr, &pki).await.unwrap();
    let (mut stalled_reader, mut stalled_writer) = tokio::io::split(stalled_client);
    let chunk = vec![0x77u8; 64 * 1024];
    let stalled_max = stalled_max_bytes();
    let mut pushed = 0u64;
    while pushed < 2 * stalled_max {
        let write = stalled_writer.write_all(&chunk);
        match tokio::time::timeout(Duration::from_millis(500), write).await {
            Ok(result) => result.unwrap(),
            Err(_) => break,
        }
        pushed += chunk.len() as u64;
    }
    assert!(
        pushed < stalled_max,
        "{pushed} bytes accepted towards an upstream that never reads"
    );

    // Another client is served while the first one is stuck.
    let other = connect_tls(proxy.addr, &pki).await.unwrap();
    echo_round_trip(other, 4 << 20, 11).await.unwrap();

    // When the stuck upstream finally resets, the client's stream ends.
    let stalled_upstream = stalled_rx.await.unwrap();
    stalled_upstream.set_zero_linger().unwrap();
    drop(stalled_upstream);
    let end = wait_for_end(&mut stalled_reader, PROMPT).await;
    assert!(
        end.is_some(),
        "stalled client still open after upstream reset"
    );
    upstream_task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixer_restart_on_same_port_is_served() {
    let pki = make_pki();
    let mixer = RunningMixer::start(fault_kit::loopback_any());
    let mixer_addr = mixer.addr;
    let proxy = start_proxy(&pki, mixer_addr, "2s", &["--connect-timeout", "1s"]).await;

    // A stream in flight when the mixer stops ends promptly.
    let client = connect_tls(proxy.addr, &pki).await.unwrap();
    let (mut reader, mut writer) = tokio::io::split(client);
    writer.write_all(&[1u8; 64 * 1024]).await.unwrap();
    let mut echoed = vec![0u8; 64 * 1024];
    reader.read_exact(&mut echoed).await.unwrap();
    mixer.stop().await;
    let end = wait_for_end(&mut reader, PROMPT).await;
    assert!(
        end.is_some(),
        "client stream still open after the mixer stopped"
    );
    // The proxy keeps the client-to-upstream direction open until the
    // client closes it too, as for any half-closed connection.
    drop((reader, writer));

    // While the mixer is down, a client completes its handshake and then
    // gets a clean close (close_notify, then end of stream).
    let mut refused = connect_tls(proxy.addr, &pki).await.unwrap();
    let mut buffer = [0u8; 16];
    let read = tokio::time::timeout(PROMPT, refused.read(&mut buffer)).await;
    let read = read.expect("proxy closes the client while the mixer is down");
    assert_eq!(
        read.unwrap(),
        0,
        "clean end of stream, not data or an error"
    );

    // The mixer comes back on the same port and the next client is served.
    let mixer = RunningMixer::start(mixer_addr);
    let next = connect_tls(proxy.addr, &pki).await.unwrap();
    echo_round_trip(next, 8 << 20, 12).await.unwrap();
    mixer.stop().await;
    let report = proxy.stop().await;
    assert_eq!(report.cut, 0, "no connection left to cut at shutdown");
}

// A connection whose client left while a write to a non-reading upstream
// was blocked has no traffic left, so the idle timeout is what ends it.
// Without `--idle-timeout` it stays open until the upstream reads or closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_gone_while_upstream_stalled_is_closed() {
    let pki = make_pki();
    let upstream = bind_upstream().await;
    let proxy = start_proxy(
        &pki,
        upstream.local_addr().unwrap(),
        "2s",
        &["--idle-timeout", "1s"],
    )
    .await;

    let mut client = connect_tls(proxy.addr, &pki).await.unwrap();
    let (_stalled_upstream, _) = upstream.accept().await.unwrap();
    let chunk = vec![0x11u8; 64 * 1024];
    for _ in 0..(stalled_max_bytes() / chunk.len() as u64) {
        let write = client.write_all(&chunk);
        if tokio::time::timeout(Duration::from_millis(500), write)
            .await
            .is_err()
        {
            break;
        }
    }

    // The client resets and is gone; the upstream stays silent.
    client.get_ref().0.set_zero_linger().unwrap();
    drop(client);
    tokio::time::sleep(Duration::from_secs(3)).await;

    let report = proxy.stop().await;
    assert_eq!(report.cut, 0, "connection still open after its client left");
}
