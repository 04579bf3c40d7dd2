//! Idle connections: open many, hold them without traffic, close them.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::sync::Semaphore;

use crate::client::Target;
use crate::report::IdleStats;

/// Connections being opened at once. Enough to open a thousand in a few
/// seconds without filling the server's listen backlog.
const OPENING_IN_PARALLEL: usize = 32;

/// Opens `count` connections, writes `ready_file` once all have been tried,
/// keeps the open ones idle for `hold`, then closes them.
pub async fn run(
    target: Arc<Target>,
    count: usize,
    hold: Duration,
    ready_file: Option<&Path>,
) -> anyhow::Result<IdleStats> {
    let permits = Arc::new(Semaphore::new(OPENING_IN_PARALLEL));
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let target = target.clone();
        let permits = permits.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = permits.acquire().await;
            target.connect_and_probe().await
        }));
    }

    let mut stats = IdleStats {
        requested: count,
        ..IdleStats::default()
    };
    let mut open = Vec::with_capacity(count);
    for task in tasks {
        let outcome = task
            .await
            .unwrap_or_else(|err| Err(std::io::Error::other(err)));
        match outcome {
            Ok(stream) => open.push(stream),
            Err(err) => {
                stats.failed += 1;
                stats.first_error.get_or_insert(err.to_string());
            }
        }
    }
    stats.established = open.len();

    if let Some(path) = ready_file {
        std::fs::write(path, format!("{}\n", open.len()))
            .with_context(|| format!("cannot write the ready file {}", path.display()))?;
    }
    let held_since = Instant::now();
    tokio::time::sleep(hold).await;
    stats.held_s = held_since.elapsed().as_secs_f64();
    drop(open);
    Ok(stats)
}
