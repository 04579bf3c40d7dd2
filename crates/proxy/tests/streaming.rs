//! Bytes through the proxy: large transfers, half-close in each direction
//! and many connections at once.

use std::time::Duration;

use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use testkit::{client_config, connect, start_proxy, start_stack, CertSet, IO_TIMEOUT};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// Upper bound for the large transfer; in a debug build it takes seconds.
const BULK_TIMEOUT: Duration = Duration::from_secs(90);

/// Writes `total` pseudo-random bytes in writes of random size, then sends
/// close_notify. Returns the SHA-256 of what was written.
async fn write_random<W: AsyncWrite + Unpin>(mut writer: W, total: usize) -> [u8; 32] {
    // A 1 MiB random block read at random offsets gives random data without
    // generating every byte, which is slow in a debug build.
    let mut block = vec![0u8; 1 << 20];
    rand::rng().fill_bytes(&mut block);
    let mut hasher = Sha256::new();
    let mut written = 0;

    while written < total {
        let (offset, size) = {
            let mut rng = rand::rng();
            let size = rng.random_range(1..=64 * 1024).min(total - written);
            (rng.random_range(0..=block.len() - size), size)
        };
        let chunk = &block[offset..offset + size];
        writer.write_all(chunk).await.expect("write to the proxy");
        hasher.update(chunk);
        written += size;
    }
    writer.shutdown().await.expect("close_notify to the proxy");
    hasher.finalize().into()
}

/// Reads to the end of the stream with reads of random size. Returns the
/// byte count and the SHA-256 of what was read.
async fn read_hashed<R: AsyncRead + Unpin>(mut reader: R) -> (usize, [u8; 32]) {
    let mut buffer = vec![0u8; 64 * 1024];
    let mut hasher = Sha256::new();
    let mut total = 0;
    loop {
        let size = rand::rng().random_range(1..=buffer.len());
        let n = reader
            .read(&mut buffer[..size])
            .await
            .expect("read from the proxy");
        if n == 0 {
            return (total, hasher.finalize().into());
        }
        hasher.update(&buffer[..n]);
        total += n;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_mib_each_way_arrive_intact() {
    const TOTAL: usize = 64 << 20;
    let certs = CertSet::new();
    let stack = start_stack(&certs).await;
    let stream = connect(stack.proxy.addr, client_config(&certs.client_files()))
        .await
        .unwrap();
    let (reader, writer) = tokio::io::split(stream);

    let writing = tokio::spawn(write_random(writer, TOTAL));
    let reading = tokio::spawn(read_hashed(reader));
    let both = async { (writing.await.unwrap(), reading.await.unwrap()) };
    let (sent, (received_bytes, received)) = tokio::time::timeout(BULK_TIMEOUT, both)
        .await
        .expect("transfer within the timeout");

    assert_eq!(received_bytes, TOTAL);
    assert_eq!(received, sent, "the echo differs from what was sent");
}

#[tokio::test]
async fn client_write_close_still_receives_echo_tail() {
    let certs = CertSet::new();
    let stack = start_stack(&certs).await;
    let mut stream = connect(stack.proxy.addr, client_config(&certs.client_files()))
        .await
        .unwrap();

    // 64 KiB fits in the client's receive buffer (128 KiB by default on
    // Linux), so writing all of it before reading cannot stall.
    let mut message = vec![0u8; 64 * 1024];
    rand::rng().fill_bytes(&mut message);
    stream.write_all(&message).await.unwrap();
    stream.shutdown().await.expect("close_notify to the proxy");

    let mut echo = Vec::new();
    tokio::time::timeout(IO_TIMEOUT, stream.read_to_end(&mut echo))
        .await
        .expect("end of stream within the timeout")
        .expect("the echo ends with close_notify, not a bare TCP close");
    assert_eq!(echo.len(), message.len());
    assert!(echo == message, "the echo differs from what was sent");
}

#[tokio::test]
async fn upstream_write_close_still_receives_client_bytes() {
    const GREETING: &[u8] = b"mixer ready\n";
    let certs = CertSet::new();

    // An upstream that greets, closes its write side, then reads to the end.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_addr = listener.local_addr().unwrap();
    let upstream = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        socket.write_all(GREETING).await.unwrap();
        socket.shutdown().await.unwrap();
        let mut received = Vec::new();
        socket.read_to_end(&mut received).await.unwrap();
        received
    });
    let proxy = start_proxy(certs.server_files(), upstream_addr).await;
    let mut stream = connect(proxy.addr, client_config(&certs.client_files()))
        .await
        .unwrap();

    let mut greeting = Vec::new();
    tokio::time::timeout(IO_TIMEOUT, stream.read_to_end(&mut greeting))
        .await
        .expect("end of stream within the timeout")
        .expect("the greeting ends with close_notify, not a bare TCP close");
    assert_eq!(greeting, GREETING);

    let mut late = vec![0u8; 128 * 1024];
    rand::rng().fill_bytes(&mut late);
    stream
        .write_all(&late)
        .await
        .expect("writes after the upstream's close still go through");
    stream.shutdown().await.unwrap();

    let received = tokio::time::timeout(IO_TIMEOUT, upstream)
        .await
        .expect("upstream sees the end of stream within the timeout")
        .unwrap();
    assert_eq!(received.len(), late.len());
    assert!(received == late, "the upstream received other bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_connections_echo() {
    const CONNECTIONS: usize = 200;
    const ROUNDS: usize = 3;
    let certs = CertSet::new();
    let stack = start_stack(&certs).await;
    let config = client_config(&certs.client_files());

    let mut clients = JoinSet::new();
    for id in 0..CONNECTIONS {
        let config = config.clone();
        let addr = stack.proxy.addr;
        clients.spawn(async move {
            let mut stream = connect(addr, config).await.expect("handshake");
            for round in 0..ROUNDS {
                let message = format!("connection {id} round {round} ").repeat(50);
                stream.write_all(message.as_bytes()).await.unwrap();
                let mut echo = vec![0u8; message.len()];
                stream.read_exact(&mut echo).await.unwrap();
                assert_eq!(echo, message.as_bytes(), "connection {id}");
            }
            stream.shutdown().await.unwrap();
        });
    }

    let mut finished = 0;
    let all = async {
        while let Some(joined) = clients.join_next().await {
            joined.expect("client task");
            finished += 1;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), all)
        .await
        .expect("all connections within the timeout");
    assert_eq!(finished, CONNECTIONS);
}
