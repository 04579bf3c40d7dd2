use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;

use super::{ByteLabels, ClosedLabels, CountingStream, ProxyMetrics, RouteLabels};

/// How a proxied connection ended: the `outcome` label of
/// `proxy_connections_closed_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The copy ran until both sides closed.
    Ok,
    /// The TLS handshake failed; the reason names why.
    HandshakeFailed,
    /// The client certificate was valid but an access policy rejected it.
    Denied,
    /// A time limit passed, such as the handshake timeout.
    Timeout,
    /// The upstream could not be resolved or connected to.
    UpstreamUnreachable,
    /// Reading from or writing to one side failed during the copy.
    CopyError,
    /// The connection was still open when the drain timeout passed.
    Cut,
    /// A connection limit rejected the connection.
    Limit,
}

impl Outcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::HandshakeFailed => "handshake_failed",
            Outcome::Denied => "denied",
            Outcome::Timeout => "timeout",
            Outcome::UpstreamUnreachable => "upstream_unreachable",
            Outcome::CopyError => "copy_error",
            Outcome::Cut => "cut",
            Outcome::Limit => "limit",
        }
    }
}

/// The metric handles of one route.
#[derive(Debug, Clone)]
pub struct RouteMetrics {
    all: Arc<ProxyMetrics>,
    route: String,
    accepted: Counter,
    active: Gauge,
    to_upstream: Counter,
    to_client: Counter,
    handshake_time: Histogram,
    connect_time: Histogram,
}

/// A connection counted in `proxy_connections_active`; dropping it,
/// however the connection task ends, takes it out again.
#[derive(Debug)]
pub struct ActiveConnection {
    active: Gauge,
}

impl Drop for ActiveConnection {
    fn drop(&mut self) {
        self.active.dec();
    }
}

impl RouteMetrics {
    pub(super) fn new(all: Arc<ProxyMetrics>, route: String) -> Self {
        let labels = RouteLabels {
            route: route.clone(),
        };
        let bytes = |direction| {
            all.bytes.get_or_create_owned(&ByteLabels {
                route: route.clone(),
                direction,
            })
        };
        Self {
            accepted: all.accepted.get_or_create_owned(&labels),
            active: all.active.get_or_create_owned(&labels),
            to_upstream: bytes("to_upstream"),
            to_client: bytes("to_client"),
            handshake_time: all.handshake_time.get_or_create_owned(&labels),
            connect_time: all.connect_time.get_or_create_owned(&labels),
            route,
            all,
        }
    }

    /// Counts an accepted TCP connection; it stays active until the
    /// returned guard is dropped.
    pub fn connection_accepted(&self) -> ActiveConnection {
        self.accepted.inc();
        self.active.inc();
        ActiveConnection {
            active: self.active.clone(),
        }
    }

    /// Counts a connection that ended with `outcome`; `reason` refines it,
    /// such as `no_client_cert` for a failed handshake.
    pub fn connection_closed(&self, outcome: Outcome, reason: &'static str) {
        let labels = ClosedLabels {
            route: self.route.clone(),
            outcome: outcome.as_str(),
            reason,
        };
        self.all.closed.get_or_create(&labels).inc();
    }

    /// Records the time a successful handshake took.
    pub fn handshake_completed(&self, elapsed: Duration) {
        self.handshake_time.observe(elapsed.as_secs_f64());
    }

    /// Records the time a successful upstream connect took.
    pub fn upstream_connected(&self, elapsed: Duration) {
        self.connect_time.observe(elapsed.as_secs_f64());
    }

    /// Wraps the upstream stream so that every chunk written to it counts
    /// as `to_upstream` and every chunk read from it as `to_client`.
    pub fn count_upstream<S>(&self, upstream: S) -> CountingStream<S> {
        CountingStream::new(upstream, self.to_client.clone(), self.to_upstream.clone())
    }
}
