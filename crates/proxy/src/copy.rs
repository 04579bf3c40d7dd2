//! Copying bytes both ways between the client's TLS stream and the
//! upstream's TCP stream, with half-close carried across.

use std::fmt;
use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// First size of each direction's read buffer. Mixer control links carry
/// small messages and may sit idle for hours, so a connection starts small:
/// two 16 KiB buffers would be most of an idle connection's memory.
const INITIAL_BUFFER_SIZE: usize = 2 * 1024;

/// Largest read buffer. One full TLS record carries at most 16 KiB of data,
/// so a read of this size takes a whole record at a time.
const MAX_BUFFER_SIZE: usize = 16 * 1024;

/// One end of a proxied connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The TLS client.
    Client,
    /// The plain TCP upstream.
    Upstream,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Client => "client",
            Side::Upstream => "upstream",
        })
    }
}

/// How a copy ended.
#[derive(Debug)]
pub enum CopyOutcome {
    /// Both directions reached end of stream; `first` closed first.
    Completed { first: Side },
    /// Reading from or writing to `side` failed; the connection was dropped.
    Failed { side: Side, error: io::Error },
}

/// Bytes moved and how the copy ended.
#[derive(Debug)]
pub struct Transfer {
    /// Bytes read from the client and written to the upstream.
    pub to_upstream: u64,
    /// Bytes read from the upstream and written to the client.
    pub to_client: u64,
    /// Why the copy stopped.
    pub outcome: CopyOutcome,
}

/// Copies both ways until both directions are closed or one side fails.
///
/// End of stream on one side becomes a write shutdown on the other: a
/// client's close_notify becomes a FIN towards the upstream, and the
/// upstream's FIN becomes close_notify and FIN towards the client. The other
/// direction keeps flowing until it closes as well.
pub async fn copy_both_ways<C, U>(client: C, upstream: U) -> Transfer
where
    C: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
{
    let (mut client_read, mut client_write) = tokio::io::split(client);
    let (mut upstream_read, mut upstream_write) = tokio::io::split(upstream);
    let mut to_upstream = 0u64;
    let mut to_client = 0u64;

    let outcome = {
        let outbound = pump(
            &mut client_read,
            &mut upstream_write,
            &mut to_upstream,
            Side::Client,
        );
        let inbound = pump(
            &mut upstream_read,
            &mut client_write,
            &mut to_client,
            Side::Upstream,
        );
        tokio::pin!(outbound, inbound);

        let mut first_closed: Option<Side> = None;
        loop {
            let (side, result) = tokio::select! {
                result = &mut outbound, if first_closed != Some(Side::Client) => (Side::Client, result),
                result = &mut inbound, if first_closed != Some(Side::Upstream) => (Side::Upstream, result),
            };
            match (result, first_closed) {
                (Err(failure), _) => break failure.into_outcome(),
                (Ok(()), None) => first_closed = Some(side),
                (Ok(()), Some(first)) => break CopyOutcome::Completed { first },
            }
        }
    };

    Transfer {
        to_upstream,
        to_client,
        outcome,
    }
}

/// A failed read from `reader_side` or a failed write to the other side.
struct PumpFailure {
    side: Side,
    error: io::Error,
}

impl PumpFailure {
    fn into_outcome(self) -> CopyOutcome {
        CopyOutcome::Failed {
            side: self.side,
            error: self.error,
        }
    }
}

/// Copies one direction; `reader_side` names where the bytes come from.
async fn pump<R, W>(
    reader: &mut R,
    writer: &mut W,
    count: &mut u64,
    reader_side: Side,
) -> Result<(), PumpFailure>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let writer_side = match reader_side {
        Side::Client => Side::Upstream,
        Side::Upstream => Side::Client,
    };
    let read_failed = |error| PumpFailure {
        side: reader_side,
        error,
    };
    let write_failed = |error| PumpFailure {
        side: writer_side,
        error,
    };

    let mut buffer = vec![0u8; INITIAL_BUFFER_SIZE];
    loop {
        let n = match reader.read(&mut buffer).await {
            Ok(n) => n,
            // A TLS client that closes TCP without close_notify: the stream
            // has ended all the same, so it is passed on as end of stream.
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => 0,
            Err(err) => return Err(read_failed(err)),
        };
        if n == 0 {
            return writer.shutdown().await.map_err(write_failed);
        }
        writer.write_all(&buffer[..n]).await.map_err(write_failed)?;
        writer.flush().await.map_err(write_failed)?;
        *count += n as u64;

        // A read that filled the buffer means bulk data is flowing.
        if n == buffer.len() && buffer.len() < MAX_BUFFER_SIZE {
            buffer.resize(MAX_BUFFER_SIZE, 0);
        }
    }
}
