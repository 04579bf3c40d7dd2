//! The mixer's Prometheus metrics, served by the admin endpoint.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PortLabels {
    port: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ByteLabels {
    port: u16,
    /// `received` from the peer or `sent` back to it.
    direction: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

/// Connection and byte counts per listening port.
#[derive(Debug)]
pub struct MixerMetrics {
    registry: Arc<Registry>,
    accepted: Family<PortLabels, Counter>,
    active: Family<PortLabels, Gauge>,
    bytes: Family<ByteLabels, Counter>,
}

/// The counters one connection updates, looked up once when it opens.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionCounters {
    pub received: Counter,
    pub sent: Counter,
    active: Gauge,
}

impl MixerMetrics {
    /// Creates the metrics and registers them in a new registry.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let accepted = Family::<PortLabels, Counter>::default();
        let active = Family::<PortLabels, Gauge>::default();
        let bytes = Family::<ByteLabels, Counter>::default();
        registry.register(
            "mixer_connections_accepted",
            "Connections accepted, by listening port",
            accepted.clone(),
        );
        registry.register(
            "mixer_connections_active",
            "Connections open now, by listening port",
            active.clone(),
        );
        registry.register(
            "mixer_bytes",
            "Bytes received from peers and sent back, by listening port",
            bytes.clone(),
        );
        registry.register(
            "mixer_build",
            "Version of the running mixer; the value is always 1",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            }),
        );
        Self {
            registry: Arc::new(registry),
            accepted,
            active,
            bytes,
        }
    }

    /// Returns the registry the admin endpoint encodes.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Counts a new connection on `port` and returns the counters it
    /// updates while it runs.
    pub(crate) fn connection_opened(&self, port: u16) -> ConnectionCounters {
        let labels = PortLabels { port };
        self.accepted.get_or_create(&labels).inc();
        let active = self.active.get_or_create_owned(&labels);
        active.inc();
        let bytes = |direction| {
            self.bytes
                .get_or_create_owned(&ByteLabels { port, direction })
        };
        ConnectionCounters {
            received: bytes("received"),
            sent: bytes("sent"),
            active,
        }
    }
}

impl Default for MixerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl ConnectionCounters {
    /// Counts the connection as closed.
    pub(crate) fn closed(&self) {
        self.active.dec();
    }
}
