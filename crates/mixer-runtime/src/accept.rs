use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

/// Pause after an accept error that is not about one connection. Running out
/// of file descriptors (EMFILE, ENFILE) or memory does not clear on the next
/// call, and retrying at once would spin a core.
const RESOURCE_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts the next connection. Errors never end the accept loop: a failure
/// that belongs to a single connection is skipped, and a shortage of file
/// descriptors or memory is logged and retried after a short pause.
pub async fn accept_with_backoff(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(err) if is_per_connection(&err) => {
                tracing::debug!(error = %err, "accept failed for one connection");
            }
            Err(err) => {
                tracing::warn!(
                    error = %err,
                    backoff_ms = RESOURCE_BACKOFF.as_millis() as u64,
                    "accept failed; retrying after a pause"
                );
                tokio::time::sleep(RESOURCE_BACKOFF).await;
            }
        }
    }
}

fn is_per_connection(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}
