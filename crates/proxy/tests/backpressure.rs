//! A client that never reads while the upstream keeps sending: the proxy
//! must stop reading from the upstream instead of buffering. Kept in its own
//! test binary because it measures this process's resident memory, which
//! other tests running at the same time would disturb.

mod fault_kit;

use std::time::{Duration, Instant};

use fault_kit::{bind_upstream, connect_tls, make_pki, read_to_end_hashed, rss_bytes, start_proxy};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// What the upstream tries to push, and for how long at most. The volume is
/// well above what the kernel buffers of both loopback hops can take
/// (about 72 MiB with tcp_wmem[2] at 4 MiB and tcp_rmem[2] at 32 MiB).
const PUSH_BYTES: u64 = 200 << 20;
const PUSH_TIME: Duration = Duration::from_secs(4);

/// Allowed growth of resident memory while the upstream pushes. The proxy keeps
/// at most one 16 KiB copy buffer and rustls's bounded send buffer per
/// connection, so growth near the pushed volume means it buffers.
const RSS_GROWTH_MAX: u64 = 8 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_reading_client_gets_backpressure() {
    let pki = make_pki();
    let upstream = bind_upstream().await;
    let proxy = start_proxy(&pki, upstream.local_addr().unwrap(), "2s", &[]).await;

    let mut client = connect_tls(proxy.addr, &pki).await.unwrap();
    let (mut conn, _) = upstream.accept().await.unwrap();
    let rss_before = rss_bytes();

    // The upstream writes as fast as the proxy takes bytes, for a bounded
    // time, and hashes what it sent. A single `write` is cancel-safe, so a
    // timed-out call has sent nothing.
    let pusher = tokio::spawn(async move {
        let pattern: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
        let mut hasher = Sha256::new();
        let mut pushed = 0u64;
        let mut offset = 0;
        let deadline = Instant::now() + PUSH_TIME;
        while pushed < PUSH_BYTES {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(written) = tokio::time::timeout(left, conn.write(&pattern[offset..])).await
            else {
                break;
            };
            let n = written.unwrap();
            hasher.update(&pattern[offset..offset + n]);
            pushed += n as u64;
            offset = (offset + n) % pattern.len();
        }
        conn.shutdown().await.unwrap();
        let digest: [u8; 32] = hasher.finalize().into();
        (pushed, digest)
    });

    let pushed_report = tokio::time::timeout(PUSH_TIME * 2, pusher).await;
    let (pushed, sent_digest) = pushed_report
        .expect("pusher stops at its deadline")
        .unwrap();
    let rss_after = rss_bytes();

    assert!(
        pushed < PUSH_BYTES,
        "the proxy took all {pushed} bytes from the upstream"
    );
    let growth = rss_after.saturating_sub(rss_before);
    assert!(
        growth < RSS_GROWTH_MAX,
        "resident memory grew by {growth} bytes while {pushed} bytes were pushed"
    );

    // The client now reads: every byte the upstream sent arrives, then a
    // clean end of stream.
    let read = tokio::time::timeout(PUSH_TIME, read_to_end_hashed(&mut client)).await;
    let (count, digest) = read.expect("client drains in time").unwrap();
    assert_eq!(count, pushed, "bytes delivered after the stall");
    assert_eq!(digest, sent_digest, "SHA-256 of the bytes delivered");
}
