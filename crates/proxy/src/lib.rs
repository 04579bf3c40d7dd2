//! The proxy: terminates mutual TLS and forwards plain TCP to the mixer.
//!
//! [`Proxy::bind`] loads the certificates and binds every route's listener;
//! [`Proxy::run`] serves until a shutdown token is cancelled, then drains.

pub mod cli;
pub mod config;
mod connection;
pub mod copy;
pub mod metrics;
mod reject;
pub mod route;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mixer_runtime::admin::{start_admin, Readiness};
use mixer_runtime::WarnLimiter;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::cli::Args;
use crate::config::ProxyConfig;
use crate::connection::{serve_connection, ConnectionContext};
use crate::metrics::ProxyMetrics;
use crate::route::Route;
use crate::tls::SharedServerConfig;

/// Time cut connections get to notice the cut and log their end.
const CUT_GRACE: Duration = Duration::from_secs(2);

/// Interval of the rate limit on warnings clients can trigger: the first
/// of each kind is logged, then one summary per interval. A minute keeps a
/// port scanner to two lines a minute while a new problem still shows at
/// once.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// Builds the Tokio runtime with `worker_threads` workers, or one per core.
pub fn build_runtime(worker_threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(threads) = worker_threads {
        builder.worker_threads(threads.max(1));
    }
    builder.build()
}

/// Validates `args`, starts the admin endpoint if one is configured, binds,
/// and serves until SIGTERM or SIGINT.
pub async fn serve(args: Args) -> anyhow::Result<()> {
    let config = ProxyConfig::from_args(&args)?;
    let metrics = Arc::new(ProxyMetrics::new());
    let readiness = Readiness::new();
    start_admin(
        args.admin_listen.as_deref(),
        metrics.registry(),
        readiness.clone(),
    )
    .await?;

    let proxy = Proxy::bind_observed(config, metrics, readiness)?;
    let shutdown =
        mixer_runtime::cancel_on_shutdown_signal().context("cannot install signal handlers")?;
    proxy.run(shutdown).await;
    Ok(())
}

/// A proxy with its certificates loaded and its listeners bound.
#[derive(Debug)]
pub struct Proxy {
    config: ProxyConfig,
    tls: SharedServerConfig,
    listeners: Vec<(Arc<Route>, TcpListener)>,
    metrics: Arc<ProxyMetrics>,
    readiness: Readiness,
}

/// How many connections a shutdown let finish and how many it cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainReport {
    /// Connections open at shutdown that ended within the drain timeout.
    pub drained: usize,
    /// Connections still open at the drain timeout, closed by the proxy.
    pub cut: usize,
}

impl Proxy {
    /// Loads the TLS files and binds one listener per route. Fails with the
    /// file or address at fault.
    pub fn bind(config: ProxyConfig) -> anyhow::Result<Self> {
        Self::bind_observed(config, Arc::default(), Readiness::new())
    }

    /// Like [`Proxy::bind`], recording into `metrics`. [`Proxy::run`] sets
    /// `readiness` once every listener is accepting, which is after the
    /// certificates loaded, and clears it when the drain starts. A failed
    /// bind leaves it unset.
    pub fn bind_observed(
        config: ProxyConfig,
        metrics: Arc<ProxyMetrics>,
        readiness: Readiness,
    ) -> anyhow::Result<Self> {
        let tls = tls::load_server_config(&config.tls_files, &metrics)?;
        let mut listeners = Vec::with_capacity(config.routes.len());
        for route in &config.routes {
            let listener = mixer_runtime::bind_listener(route.listen)?;
            listeners.push((Arc::new(route.clone()), listener));
        }
        Ok(Self {
            config,
            tls,
            listeners,
            metrics,
            readiness,
        })
    }

    /// Returns the bound address of each route, in route order; useful when a
    /// route asked for port 0.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|(_, listener)| listener.local_addr().ok())
            .collect()
    }

    /// Serves until `shutdown` is cancelled. Then it stops accepting at once,
    /// lets open connections finish for up to the drain timeout, and closes
    /// the rest.
    pub async fn run(self, shutdown: CancellationToken) -> DrainReport {
        let connections = TaskTracker::new();
        let cut = CancellationToken::new();
        let warnings = Arc::new(WarnLimiter::new(WARNING_INTERVAL));
        let summaries = tokio::spawn(warnings.clone().run_summaries());
        let mut acceptors = Vec::with_capacity(self.listeners.len());

        for (route, listener) in self.listeners {
            let local = listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default();
            tracing::info!(listen.addr = %local, upstream = %route.upstream, "route listening");
            let ctx = ConnectionContext {
                metrics: self.metrics.route(&route),
                route,
                tls: self.tls.clone(),
                handshake_timeout: self.config.handshake_timeout,
                connect_timeout: self.config.connect_timeout,
                cut: cut.clone(),
                warnings: warnings.clone(),
            };
            acceptors.push(tokio::spawn(accept_loop(
                listener,
                ctx,
                connections.clone(),
            )));
        }
        tracing::info!(
            handshake_timeout = %humantime::format_duration(self.config.handshake_timeout),
            connect_timeout = %humantime::format_duration(self.config.connect_timeout),
            drain_timeout = %humantime::format_duration(self.config.drain_timeout),
            "proxy ready"
        );
        self.readiness.set_ready();

        shutdown.cancelled().await;
        self.readiness.set_not_ready();
        for acceptor in &acceptors {
            acceptor.abort();
        }
        connections.close();
        let report = drain(&connections, &cut, self.config.drain_timeout).await;
        summaries.abort();
        warnings.flush_all();
        report
    }
}

async fn accept_loop(listener: TcpListener, ctx: ConnectionContext, connections: TaskTracker) {
    loop {
        let (stream, client) = mixer_runtime::accept_with_backoff(&listener).await;
        connections.spawn(serve_connection(stream, client, ctx.clone()));
    }
}

async fn drain(
    connections: &TaskTracker,
    cut: &CancellationToken,
    timeout: Duration,
) -> DrainReport {
    let open = connections.len();
    tracing::info!(open, timeout = %humantime::format_duration(timeout), "draining connections");

    let report = match tokio::time::timeout(timeout, connections.wait()).await {
        Ok(()) => DrainReport {
            drained: open,
            cut: 0,
        },
        Err(_) => {
            let left = connections.len();
            cut.cancel();
            let _ = tokio::time::timeout(CUT_GRACE, connections.wait()).await;
            DrainReport {
                drained: open.saturating_sub(left),
                cut: left,
            }
        }
    };
    tracing::info!(drained = report.drained, cut = report.cut, "proxy stopped");
    report
}
