//! Plain TCP backends for one-way transfers, since the mixer only echoes:
//! a sink that verifies the pattern stream and a source that sends it.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::pattern::Pattern;

/// Bytes of the sink's reply: the verified byte count (u64, little endian)
/// and one status byte, 0 when every byte matched.
pub const SINK_REPLY_LEN: usize = 9;

/// Bytes per write of the source; one full TLS record after the proxy.
const SOURCE_CHUNK: usize = 16 * 1024;

/// Read buffer of the sink.
const SINK_BUFFER: usize = 64 * 1024;

/// The sink's report, sent when the client closes or a byte differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkReply {
    /// Bytes that matched the stream, counted from the start.
    pub verified: u64,
    /// False when the byte after `verified` differed from the stream.
    pub intact: bool,
}

impl SinkReply {
    /// Encodes the reply for the wire.
    pub fn encode(&self) -> [u8; SINK_REPLY_LEN] {
        let mut bytes = [0u8; SINK_REPLY_LEN];
        bytes[..8].copy_from_slice(&self.verified.to_le_bytes());
        bytes[8] = u8::from(!self.intact);
        bytes
    }

    /// Decodes a reply read from the wire.
    pub fn decode(bytes: &[u8; SINK_REPLY_LEN]) -> Self {
        let mut count = [0u8; 8];
        count.copy_from_slice(&bytes[..8]);
        Self {
            verified: u64::from_le_bytes(count),
            intact: bytes[8] == 0,
        }
    }

    /// Fails unless the sink received exactly `sent` intact bytes.
    pub fn expect_verified(&self, sent: u64) -> io::Result<()> {
        if !self.intact {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the sink found byte {} of the stream changed",
                    self.verified
                ),
            ));
        }
        if self.verified != sent {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("sent {sent} bytes but the sink received {}", self.verified),
            ));
        }
        Ok(())
    }
}

/// Serves the sink and the source until `shutdown` is cancelled.
pub async fn run(sink: TcpListener, source: TcpListener, shutdown: CancellationToken) {
    for (role, listener) in [("sink", &sink), ("source", &source)] {
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(role, listen.addr = %addr, "backend listening");
        }
    }
    tokio::select! {
        _ = accept_loop(sink, Role::Sink) => {}
        _ = accept_loop(source, Role::Source) => {}
        _ = shutdown.cancelled() => {}
    }
}

#[derive(Debug, Clone, Copy)]
enum Role {
    Sink,
    Source,
}

async fn accept_loop(listener: TcpListener, role: Role) {
    loop {
        let (stream, peer) = mixer_runtime::accept_with_backoff(&listener).await;
        tokio::spawn(async move {
            let result = match role {
                Role::Sink => sink(stream).await,
                Role::Source => source(stream).await,
            };
            if let Err(err) = result {
                tracing::debug!(client.addr = %peer, error = %err, "backend connection failed");
            }
        });
    }
}

/// Verifies everything received, then sends a [`SinkReply`] and closes.
async fn sink(mut stream: TcpStream) -> io::Result<()> {
    let pattern = Pattern::shared();
    let mut buffer = vec![0u8; SINK_BUFFER];
    let mut verified = 0u64;
    let intact = loop {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            break true;
        }
        if let Some(index) = pattern.first_mismatch(verified, &buffer[..n]) {
            verified += index as u64;
            break false;
        }
        verified += n as u64;
    };
    stream
        .write_all(&SinkReply { verified, intact }.encode())
        .await?;
    stream.shutdown().await
}

/// Sends the stream until the client closes its side or goes away.
async fn source(stream: TcpStream) -> io::Result<()> {
    let (mut reader, writer) = stream.into_split();
    let mut scratch = [0u8; 64];
    let until_closed = async {
        while reader.read(&mut scratch).await? > 0 {}
        Ok(())
    };
    tokio::select! {
        result = send_forever(writer) => result,
        result = until_closed => result,
    }
}

/// Writes the stream until a write fails.
async fn send_forever(mut writer: tokio::net::tcp::OwnedWriteHalf) -> io::Result<()> {
    let pattern = Pattern::shared();
    let mut offset = 0u64;
    loop {
        let chunk = pattern.piece(offset, SOURCE_CHUNK);
        writer.write_all(chunk).await?;
        offset += chunk.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_reply_round_trips() {
        for reply in [
            SinkReply {
                verified: 0,
                intact: true,
            },
            SinkReply {
                verified: u64::MAX - 1,
                intact: false,
            },
        ] {
            assert_eq!(SinkReply::decode(&reply.encode()), reply);
        }
    }

    #[test]
    fn sink_reply_rejects_short_or_changed_streams() {
        let short = SinkReply {
            verified: 10,
            intact: true,
        };
        assert!(short.expect_verified(10).is_ok());
        assert!(short.expect_verified(11).is_err());
        let changed = SinkReply {
            verified: 10,
            intact: false,
        };
        assert!(changed.expect_verified(10).is_err());
    }
}
