//! The mixer: a TCP echo server standing in for an audio mixer core.
//!
//! Every byte a peer sends comes back unchanged. When the peer shuts down
//! its write side, the mixer sends what is left and then closes its own.

pub mod cli;
mod echo;

use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use cli::Args;

/// How long open connections may go on after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Binds every listen address from `args` and serves until SIGTERM or SIGINT.
pub async fn serve(args: Args) -> anyhow::Result<()> {
    let mut listeners = Vec::with_capacity(args.listen.len());
    for addr in &args.listen {
        listeners.push(mixer_runtime::bind_listener(*addr)?);
    }
    let shutdown =
        mixer_runtime::cancel_on_shutdown_signal().context("cannot install signal handlers")?;
    run(listeners, shutdown).await;
    Ok(())
}

/// Serves connections on already bound listeners until `shutdown` is
/// cancelled, then waits up to [`DRAIN_TIMEOUT`] for open connections.
pub async fn run(listeners: Vec<TcpListener>, shutdown: CancellationToken) {
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
        )));
    }

    shutdown.cancelled().await;
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

async fn accept_loop(listener: TcpListener, connections: TaskTracker, shutdown: CancellationToken) {
    loop {
        let (stream, peer) = mixer_runtime::accept_with_backoff(&listener).await;
        connections.spawn(echo::serve_connection(stream, peer, shutdown.clone()));
    }
}
