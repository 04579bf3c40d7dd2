use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::metrics::{ConnectionCounters, MixerMetrics};

/// Read buffer per connection. Matches the largest TLS record payload, so one
/// read takes whatever the proxy decrypted from one record.
const BUFFER_SIZE: usize = 16 * 1024;

/// Echoes one connection and logs its start and its end.
pub(crate) async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    shutdown: CancellationToken,
    metrics: Arc<MixerMetrics>,
) {
    let local_port = stream.local_addr().map(|a| a.port()).unwrap_or(0);
    let span = tracing::info_span!("conn", client.addr = %peer, local.port = local_port);
    let counters = metrics.connection_opened(local_port);

    async move {
        mixer_runtime::tune_stream(&stream);
        tracing::info!("connection accepted");
        let started = Instant::now();
        let mut counts = EchoCounts::default();

        let (outcome, error) = tokio::select! {
            result = echo(stream, &mut counts, &counters) => match result {
                Ok(()) => ("peer_closed", None),
                Err(err) => ("error", Some(err.to_string())),
            },
            _ = shutdown.cancelled() => ("shutdown", None),
        };
        counters.closed();

        tracing::info!(
            bytes.received = counts.received,
            bytes.sent = counts.sent,
            duration_ms = started.elapsed().as_millis() as u64,
            outcome,
            error,
            "connection closed"
        );
    }
    .instrument(span)
    .await
}

#[derive(Debug, Default)]
struct EchoCounts {
    received: u64,
    sent: u64,
}

/// Copies the stream onto itself until the peer's FIN, then closes the write
/// side. Each chunk is also added to the shared byte counters, so a scrape
/// during a long connection shows its progress.
async fn echo(
    mut stream: TcpStream,
    counts: &mut EchoCounts,
    counters: &ConnectionCounters,
) -> io::Result<()> {
    let (mut reader, mut writer) = stream.split();
    let mut buffer = vec![0u8; BUFFER_SIZE];
    loop {
        let n = reader.read(&mut buffer).await?;
        if n == 0 {
            writer.shutdown().await?;
            return Ok(());
        }
        counts.received += n as u64;
        counters.received.inc_by(n as u64);
        writer.write_all(&buffer[..n]).await?;
        counts.sent += n as u64;
        counters.sent.inc_by(n as u64);
    }
}
