//! Bulk transfer with every byte checked against the pattern stream.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::backend::{SinkReply, SINK_REPLY_LEN};
use crate::cli::Direction;
use crate::client::{Target, CONNECT_TIMEOUT};
use crate::pattern::Pattern;
use crate::report::ThroughputStats;

/// Read buffer size; larger than one TLS record so that a read can take
/// several decrypted records at once.
const READ_BUFFER: usize = 64 * 1024;

/// Time past the deadline a connection gets to flush, close and report,
/// before it counts as failed.
const FINISH_GRACE: Duration = Duration::from_secs(10);

/// Bytes one connection moved.
#[derive(Debug, Default)]
struct Moved {
    sent: u64,
    received: u64,
}

/// Runs `connections` transfers in `direction` for `duration`.
pub async fn run(
    target: Arc<Target>,
    direction: Direction,
    connections: usize,
    chunk_size: usize,
    duration: Duration,
) -> ThroughputStats {
    let deadline = Instant::now() + duration;
    let chunk_size = chunk_size.max(1);
    let connections = connections.max(1);
    let limit = duration + CONNECT_TIMEOUT + FINISH_GRACE;

    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let transfer = transfer(&target, direction, chunk_size, deadline);
            match tokio::time::timeout(limit, transfer).await {
                Ok(result) => result,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "transfer did not finish in time",
                )),
            }
        }));
    }

    let mut stats = ThroughputStats {
        direction,
        connections,
        bytes_sent: 0,
        bytes_received: 0,
        bytes_moved: 0,
        megabytes_per_second: 0.0,
        failed_connections: 0,
        first_error: None,
    };
    for task in tasks {
        let outcome = task.await.unwrap_or_else(|err| Err(io::Error::other(err)));
        match outcome {
            Ok(moved) => {
                stats.bytes_sent += moved.sent;
                stats.bytes_received += moved.received;
            }
            Err(err) => {
                stats.failed_connections += 1;
                stats.first_error.get_or_insert(err.to_string());
            }
        }
    }
    stats.bytes_moved = match direction {
        Direction::Upload => stats.bytes_sent,
        Direction::Download => stats.bytes_received,
        Direction::Echo => stats.bytes_sent + stats.bytes_received,
    };
    stats
}

async fn transfer(
    target: &Target,
    direction: Direction,
    chunk_size: usize,
    deadline: Instant,
) -> io::Result<Moved> {
    let stream = target.connect().await?;
    let (mut reader, mut writer) = tokio::io::split(stream);

    match direction {
        Direction::Upload => {
            // The reply is read while sending, so that a server that sends
            // anything else fails the transfer at once.
            let sending = send_until(&mut writer, chunk_size, deadline);
            let replying = read_sink_reply(&mut reader);
            let (sent, reply) = tokio::try_join!(sending, replying)?;
            reply.expect_verified(sent)?;
            Ok(Moved { sent, received: 0 })
        }
        Direction::Download => {
            let received = verify_until(&mut reader, Some(deadline)).await?;
            Ok(Moved { sent: 0, received })
        }
        Direction::Echo => {
            let sending = send_until(&mut writer, chunk_size, deadline);
            let receiving = verify_until(&mut reader, None);
            let (sent, received) = tokio::try_join!(sending, receiving)?;
            if received != sent {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("sent {sent} bytes but {received} came back"),
                ));
            }
            Ok(Moved { sent, received })
        }
    }
}

/// Writes the pattern until `deadline`, then closes the write side.
async fn send_until<W>(writer: &mut W, chunk_size: usize, deadline: Instant) -> io::Result<u64>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    let pattern = Pattern::shared();
    let mut offset = 0u64;
    while Instant::now() < deadline {
        let chunk = pattern.piece(offset, chunk_size);
        writer.write_all(chunk).await?;
        offset += chunk.len() as u64;
    }
    writer.shutdown().await?;
    Ok(offset)
}

/// Reads the sink's reply and then expects end of stream.
async fn read_sink_reply<R>(reader: &mut R) -> io::Result<SinkReply>
where
    R: AsyncRead + Unpin,
{
    let mut reply = [0u8; SINK_REPLY_LEN];
    reader.read_exact(&mut reply).await?;
    let mut extra = [0u8; 1];
    if end_of_stream_as_zero(reader.read(&mut extra).await)? != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the server sent more than the sink's reply; is the upstream a mixer-bench sink?",
        ));
    }
    Ok(SinkReply::decode(&reply))
}

/// Reads and verifies the pattern until end of stream or `deadline`.
async fn verify_until<R>(reader: &mut R, deadline: Option<Instant>) -> io::Result<u64>
where
    R: AsyncRead + Unpin,
{
    let pattern = Pattern::shared();
    let mut buffer = vec![0u8; READ_BUFFER];
    let mut offset = 0u64;
    loop {
        let read = reader.read(&mut buffer);
        let n = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline.into(), read).await {
                Ok(result) => end_of_stream_as_zero(result)?,
                Err(_) => return Ok(offset),
            },
            None => end_of_stream_as_zero(read.await)?,
        };
        if n == 0 {
            return Ok(offset);
        }
        if let Some(index) = pattern.first_mismatch(offset, &buffer[..n]) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("byte {} of the stream differs", offset + index as u64),
            ));
        }
        offset += n as u64;
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Ok(offset);
        }
    }
}

/// Treats a TCP close without TLS close_notify as end of stream too,
/// because the byte count shows whether anything was lost.
fn end_of_stream_as_zero(result: io::Result<usize>) -> io::Result<usize> {
    match result {
        Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
        other => other,
    }
}
