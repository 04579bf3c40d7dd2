//! Peers that misbehave on the TLS port: junk bytes, slow handshakes,
//! resets, clients that stop reading or half-close. Each test also checks
//! that honest traffic beside the hostile peer is unaffected.

mod fault_kit;

use std::time::{Duration, Instant};

use fault_kit::{
    bind_upstream, connect_tls, echo_round_trip, make_pki, read_to_end_hashed, start_proxy,
    start_stack, wait_for_end, Pki, StreamEnd, PROMPT,
};
use mixer_tls::rustls::pki_types::ServerName;
use mixer_tls::rustls::ClientConnection;
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Returns the first flight a real rustls client sends: its ClientHello.
fn client_hello(pki: &Pki) -> Vec<u8> {
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = ClientConnection::new(pki.client.clone(), name).unwrap();
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).unwrap();
    hello
}

/// Sends `junk`, then reads until the proxy closes the connection.
async fn send_junk(addr: std::net::SocketAddr, junk: Vec<u8>) -> Option<StreamEnd> {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    // The proxy may close before all of it is written; that is fine.
    let _ = tcp.write_all(&junk).await;
    wait_for_end(&mut tcp, PROMPT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_bytes_closed_beside_transfer() {
    let pki = make_pki();
    let stack = start_stack(&pki, "1s").await;
    let addr = stack.proxy.addr;

    let mut random = vec![0u8; 4096];
    rand::rngs::StdRng::seed_from_u64(7).fill_bytes(&mut random);
    let hello = client_hello(&pki);
    let truncated = hello[..hello.len() / 2].to_vec();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("plain text", b"hello mixer\n".to_vec()),
        (
            "HTTP request",
            b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
        ),
        ("random bytes", random),
        // Held open after the half hello: ends at the 1 s handshake timeout.
        ("truncated ClientHello", truncated),
    ];

    let transfer = async {
        let stream = connect_tls(addr, &pki).await.expect("honest handshake");
        echo_round_trip(stream, 32 << 20, 1).await
    };
    let hostile = async {
        let mut ends = Vec::new();
        for (label, junk) in cases {
            let started = Instant::now();
            let end = send_junk(addr, junk).await;
            ends.push((label, end, started.elapsed()));
        }
        ends
    };
    let (transfer, ends) = tokio::join!(transfer, hostile);

    for (label, end, took) in ends {
        assert!(end.is_some(), "{label}: still open after {took:?}");
    }
    transfer.expect("transfer beside the junk is intact");

    let next = connect_tls(addr, &pki).await.expect("handshake after junk");
    echo_round_trip(next, 1 << 20, 2).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_clients_dropped_at_handshake_timeout() {
    const SLOW_CLIENTS: usize = 200;
    let handshake_timeout = Duration::from_secs(1);

    let pki = make_pki();
    let stack = start_stack(&pki, "1s").await;
    let addr = stack.proxy.addr;
    let hello = client_hello(&pki);

    // Each slow client drips its ClientHello one byte per 100 ms, which
    // would take several seconds, and notes when the proxy closes it.
    let started = Instant::now();
    let mut slow = Vec::with_capacity(SLOW_CLIENTS);
    for _ in 0..SLOW_CLIENTS {
        let hello = hello.clone();
        let tcp = TcpStream::connect(addr)
            .await
            .expect("slow client connects");
        slow.push(tokio::spawn(async move {
            let (mut reader, mut writer) = tcp.into_split();
            let drip = async {
                for byte in hello.iter().take(100) {
                    if writer.write_all(&[*byte]).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                std::future::pending::<()>().await;
            };
            tokio::select! {
                end = wait_for_end(&mut reader, Duration::from_secs(15)) => end,
                _ = drip => None,
            }
        }));
    }

    // An honest client, while all slow clients are still waiting.
    let honest_started = Instant::now();
    let stream = connect_tls(addr, &pki)
        .await
        .expect("honest handshake beside slow clients");
    let honest_handshake = honest_started.elapsed();
    echo_round_trip(stream, 1 << 20, 3).await.unwrap();
    assert!(
        honest_handshake < handshake_timeout,
        "honest handshake took {honest_handshake:?}"
    );

    let mut closed = 0;
    for task in slow {
        if task.await.unwrap().is_some() {
            closed += 1;
        }
    }
    let all_closed_after = started.elapsed();
    assert_eq!(closed, SLOW_CLIENTS, "slow clients closed by the proxy");
    assert!(
        all_closed_after < handshake_timeout + PROMPT,
        "last slow client closed after {all_closed_after:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_reset_mid_stream_closes_upstream() {
    let pki = make_pki();
    let upstream = bind_upstream().await;
    let proxy = start_proxy(&pki, upstream.local_addr().unwrap(), "2s", &[]).await;

    let mut client = connect_tls(proxy.addr, &pki).await.unwrap();
    client.write_all(&[0x5a; 256 * 1024]).await.unwrap();
    client.flush().await.unwrap();

    let (mut upstream_conn, _) = upstream.accept().await.unwrap();
    let mut first = vec![0u8; 1024];
    upstream_conn.read_exact(&mut first).await.unwrap();

    // RST instead of FIN, with no close_notify.
    client.get_ref().0.set_zero_linger().unwrap();
    drop(client);

    let end = wait_for_end(&mut upstream_conn, PROMPT).await;
    assert!(
        end.is_some(),
        "upstream connection still open after the reset"
    );

    // The route still works.
    let upstream_addr = upstream.local_addr().unwrap();
    drop(upstream);
    let mixer = fault_kit::RunningMixer::start(upstream_addr);
    let next = connect_tls(proxy.addr, &pki).await.unwrap();
    echo_round_trip(next, 1 << 20, 4).await.unwrap();
    mixer.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_notify_without_fin_still_gets_echo_tail() {
    let pki = make_pki();
    let upstream = bind_upstream().await;
    let proxy = start_proxy(&pki, upstream.local_addr().unwrap(), "2s", &[]).await;

    let mut payload = vec![0u8; 300 * 1024];
    rand::rngs::StdRng::seed_from_u64(5).fill_bytes(&mut payload);
    let expected: [u8; 32] = Sha256::digest(&payload).into();

    // The upstream reads to FIN, then sends everything back and closes.
    let upstream_task = tokio::spawn(async move {
        let (mut conn, _) = upstream.accept().await.unwrap();
        let mut received = Vec::new();
        let read = tokio::time::timeout(PROMPT, conn.read_to_end(&mut received)).await;
        let got_fin = matches!(read, Ok(Ok(_)));
        if got_fin {
            conn.write_all(&received).await.unwrap();
            conn.shutdown().await.unwrap();
        }
        (got_fin, received.len())
    });

    let mut client = connect_tls(proxy.addr, &pki).await.unwrap();
    client.write_all(&payload).await.unwrap();
    // close_notify, but the TCP connection stays open in both directions.
    client.get_mut().1.send_close_notify();
    client.flush().await.unwrap();

    let (got_fin, forwarded) = upstream_task.await.unwrap();
    assert!(
        got_fin,
        "upstream got no FIN after the client's close_notify"
    );
    assert_eq!(forwarded, payload.len(), "bytes forwarded before FIN");

    let read = tokio::time::timeout(PROMPT, read_to_end_hashed(&mut client)).await;
    let (count, digest) = read.expect("echo tail in time").expect("clean end");
    assert_eq!(count, payload.len() as u64, "echo tail length");
    assert_eq!(digest, expected, "echo tail SHA-256");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_record_mid_stream_closes_both_sides() {
    let pki = make_pki();
    let upstream = bind_upstream().await;
    let proxy = start_proxy(&pki, upstream.local_addr().unwrap(), "2s", &[]).await;

    let mut client = connect_tls(proxy.addr, &pki).await.unwrap();
    client
        .write_all(b"before the corrupt record")
        .await
        .unwrap();
    client.flush().await.unwrap();
    let (mut upstream_conn, _) = upstream.accept().await.unwrap();
    let mut first = [0u8; 25];
    upstream_conn.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"before the corrupt record");

    // An application-data record header and bytes that do not decrypt,
    // written under the TLS layer.
    let mut record = vec![0x17, 0x03, 0x03, 0x00, 0x40];
    record.extend_from_slice(&[0xa5; 0x40]);
    client.get_mut().0.write_all(&record).await.unwrap();

    let upstream_end = wait_for_end(&mut upstream_conn, PROMPT).await;
    assert!(
        upstream_end.is_some(),
        "upstream still open after bad record"
    );
    let client_end = wait_for_end(&mut client.get_mut().0, PROMPT).await;
    assert!(client_end.is_some(), "client still open after bad record");
}
