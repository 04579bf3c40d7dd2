//! Closed-loop handshakes: each worker opens a connection, checks one echo,
//! closes it and opens the next, until the duration has passed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::client::Target;
use crate::report::HandshakeStats;

/// Pause after a failed connection, so that a server that rejects every
/// client is not hammered in a tight loop.
const FAILURE_PAUSE: Duration = Duration::from_millis(10);

/// Runs `workers` closed loops for `duration`.
pub async fn run(target: Arc<Target>, workers: usize, duration: Duration) -> HandshakeStats {
    let deadline = Instant::now() + duration;
    let mut tasks = Vec::with_capacity(workers);
    for _ in 0..workers.max(1) {
        tasks.push(tokio::spawn(worker(target.clone(), deadline)));
    }

    let mut stats = HandshakeStats {
        workers: workers.max(1),
        ..HandshakeStats::default()
    };
    for task in tasks {
        match task.await {
            Ok(one) => {
                stats.completed += one.completed;
                stats.failed += one.failed;
                stats.first_error = stats.first_error.or(one.first_error);
            }
            Err(err) => {
                stats.failed += 1;
                stats
                    .first_error
                    .get_or_insert(format!("worker ended: {err}"));
            }
        }
    }
    stats
}

async fn worker(target: Arc<Target>, deadline: Instant) -> HandshakeStats {
    let mut stats = HandshakeStats::default();
    while Instant::now() < deadline {
        match target.connect_and_probe().await {
            Ok(mut stream) => {
                // close_notify, then FIN; the server's reply is not awaited.
                let _ = stream.shutdown().await;
                stats.completed += 1;
            }
            Err(err) => {
                stats.failed += 1;
                stats.first_error.get_or_insert(err.to_string());
                tokio::time::sleep(FAILURE_PAUSE).await;
            }
        }
    }
    stats
}
