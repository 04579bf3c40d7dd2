//! The proxy's Prometheus metrics, served by the admin endpoint.
//!
//! Every metric is registered when [`ProxyMetrics`] is created, so the
//! registry the admin endpoint encodes never changes afterwards. Per-route
//! handles ([`RouteMetrics`]) are looked up once per route, so recording on
//! a connection is a few atomic additions without a map lookup.

mod counting;
mod route;

use std::sync::Arc;

use mixer_tls::CertificateSummary;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

pub use counting::CountingStream;
pub use route::{ActiveConnection, Outcome, RouteMetrics};

use crate::route::Route;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClosedLabels {
    route: String,
    outcome: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByteLabels {
    route: String,
    /// `to_upstream` (client to mixer) or `to_client`.
    direction: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CertificateLabels {
    subject: String,
    /// `server_chain` or `client_ca`.
    role: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    /// `ok` or `error`.
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    rustls_provider: &'static str,
}

/// Bucket bounds in seconds for handshake and connect times, in 1-2.5-5
/// steps from 100 µs, where a connect on one host lands, to 10 s, the
/// default handshake timeout.
const LATENCY_BUCKETS: [f64; 16] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// Every metric the proxy exports.
#[derive(Debug)]
pub struct ProxyMetrics {
    registry: Arc<Registry>,
    accepted: Family<RouteLabels, Counter>,
    active: Family<RouteLabels, Gauge>,
    closed: Family<ClosedLabels, Counter>,
    bytes: Family<ByteLabels, Counter>,
    handshake_time: Family<RouteLabels, Histogram>,
    connect_time: Family<RouteLabels, Histogram>,
    certificate_expiry: Family<CertificateLabels, Gauge>,
    reloads: Family<ReloadLabels, Counter>,
}

impl ProxyMetrics {
    /// Creates the metrics and registers them in a new registry.
    pub fn new() -> Self {
        let metrics = Self {
            registry: Arc::default(),
            accepted: Family::default(),
            active: Family::default(),
            closed: Family::default(),
            bytes: Family::default(),
            handshake_time: Family::new_with_constructor(latency_histogram),
            connect_time: Family::new_with_constructor(latency_histogram),
            certificate_expiry: Family::default(),
            reloads: Family::default(),
        };
        for result in ["ok", "error"] {
            metrics
                .reloads
                .get_or_create_owned(&ReloadLabels { result });
        }
        Self {
            registry: Arc::new(metrics.build_registry()),
            ..metrics
        }
    }

    fn build_registry(&self) -> Registry {
        let mut registry = Registry::default();
        registry.register(
            "proxy_connections_accepted",
            "TCP connections accepted, by route",
            self.accepted.clone(),
        );
        registry.register(
            "proxy_connections_active",
            "Connections open now, handshakes included, by route",
            self.active.clone(),
        );
        registry.register(
            "proxy_connections_closed",
            "Connections ended, by route, outcome and reason",
            self.closed.clone(),
        );
        registry.register(
            "proxy_bytes",
            "Bytes forwarded, by route and direction (to_upstream or to_client)",
            self.bytes.clone(),
        );
        registry.register_with_unit(
            "proxy_tls_handshake_duration",
            "Time from TCP accept to a completed TLS handshake, successful handshakes only",
            Unit::Seconds,
            self.handshake_time.clone(),
        );
        registry.register_with_unit(
            "proxy_upstream_connect_duration",
            "Time to resolve and connect to the upstream, successful connects only",
            Unit::Seconds,
            self.connect_time.clone(),
        );
        registry.register(
            "proxy_certificate_expiry_timestamp_seconds",
            "End of validity (notAfter) of each loaded certificate, in seconds since the Unix epoch",
            self.certificate_expiry.clone(),
        );
        registry.register(
            "proxy_tls_reloads",
            "Reloads of the TLS files, by result (ok or error)",
            self.reloads.clone(),
        );
        registry.register(
            "proxy_build",
            "Version of the running proxy and its TLS provider; the value is always 1",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                rustls_provider: "aws-lc-rs",
            }),
        );
        registry
    }

    /// Returns the registry the admin endpoint encodes.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Returns the handles one route records into, with its series created
    /// at zero.
    pub fn route(self: &Arc<Self>, route: &Route) -> RouteMetrics {
        RouteMetrics::new(self.clone(), route.to_string())
    }

    /// Replaces the certificate expiry series with the certificates just
    /// loaded, so a reload drops the series of certificates no longer used.
    pub fn set_certificates(
        &self,
        chain: &[CertificateSummary],
        client_cas: &[CertificateSummary],
    ) {
        self.certificate_expiry.clear();
        let groups = [("server_chain", chain), ("client_ca", client_cas)];
        for (role, certificates) in groups {
            for certificate in certificates {
                let labels = CertificateLabels {
                    subject: certificate.subject.clone(),
                    role,
                };
                self.certificate_expiry
                    .get_or_create(&labels)
                    .set(certificate.not_after);
            }
        }
    }

    /// Counts one reload of the TLS files, successful or not.
    pub fn record_reload(&self, succeeded: bool) {
        let result = if succeeded { "ok" } else { "error" };
        self.reloads.get_or_create(&ReloadLabels { result }).inc();
    }
}

impl Default for ProxyMetrics {
    fn default() -> Self {
        Self::new()
    }
}
