//! The mixer: a TCP echo server standing in for an audio mixer core.
//!
//! Every byte a peer sends comes back unchanged. When the peer shuts down
//! its write side, the mixer sends what is left and then closes its own.

pub mod cli;
mod echo;
pub mod metrics;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mixer_runtime::admin::{start_admin, Readiness};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use cli::Args;
use metrics::MixerMetrics;

/// How long open connections may go on after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the admin endpoint if one is configured, binds every listen
/// address from `args` and serves until SIGTERM or SIGINT.
pub async fn serve(args: Args) -> anyhow::Result<()> {
    let metrics = Arc::new(MixerMetrics::new());
    let readiness = Readiness::new();
    start_admin(
        args.admin_listen.as_deref(),
        metrics.registry(),
        readiness.clone(),
    )
    .await?;

    let mut listeners = Vec::with_capacity(args.listen.len());
    for addr in &args.listen {
        listeners.push(mixer_runtime::bind_listener(*addr)?);
    }
    let shutdown =
        mixer_runtime::cancel_on_shutdown_signal().context("cannot install signal handlers")?;
    run_observed(listeners, shutdown, metrics, readiness).await;
    Ok(())
}

/// Serves connections on already bound listeners until `shutdown` is
/// cancelled, then waits up to [`DRAIN_TIMEOUT`] for open connections.
pub async fn run(listeners: Vec<TcpListener>, shutdown: CancellationToken) {
    run_observed(
        listeners,
        shutdown,
        Arc::new(MixerMetrics::new()),
        Readiness::new(),
    )
    .await
}

/// Like [`run`], recording into `metrics`. `readiness` is set once every
/// listener is accepting and cleared when the drain starts.
pub async fn run_observed(
    listeners: Vec<TcpListener>,
    shutdown: CancellationToken,
    metrics: Arc<MixerMetrics>,
    readiness: Readiness,
) {
    let connections = TaskTracker::new();
    let mut acceptors = Vec::with_capacity(listeners.len());

    for listener in listeners {
        match listener.local_addr() {
            Ok(addr) => tracing::info!(listen.addr = %addr, "mixer listening"),
            Err(err) => tracing::warn!(error = %err, "cannot read listener address"),
        }
        acceptors.push(tokio::spawn(accept_loop(
            listener,
            connections.clone(),
            shutdown.clone(),
            metrics.clone(),
        )));
    }
    readiness.set_ready();

    shutdown.cancelled().await;
    readiness.set_not_ready();
    for acceptor in acceptors {
        acceptor.abort();
    }
    connections.close();

    let open = connections.len();
    if tokio::time::timeout(DRAIN_TIMEOUT, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "drain timed out; closing the rest"
        );
    }
    tracing::info!(drained_from = open, "mixer stopped");
}

async fn accept_loop(
    listener: TcpListener,
    connections: TaskTracker,
    shutdown: CancellationToken,
    metrics: Arc<MixerMetrics>,
) {
    loop {
        let (stream, peer) = mixer_runtime::accept_with_backoff(&listener).await;
        let connection = echo::serve_connection(stream, peer, shutdown.clone(), metrics.clone());
        connections.spawn(connection);
    }
}
