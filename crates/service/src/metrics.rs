//! The service's Prometheus metrics, served by the admin endpoint.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RoundTripLabels {
    target: String,
    /// `ok` or `failed`.
    result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TargetLabels {
    target: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    rustls_provider: &'static str,
}

/// Round-trip counts and times per target.
#[derive(Debug)]
pub struct ServiceMetrics {
    registry: Arc<Registry>,
    round_trips: Family<RoundTripLabels, Counter>,
    round_trip_time: Family<TargetLabels, Histogram>,
}

/// Bucket bounds in seconds for round-trip times, in 1-2.5-5 steps from
/// 100 µs, about a loopback echo through the proxy, to 5 s, the default
/// timeout.
const ROUND_TRIP_BUCKETS: [f64; 15] = [
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0,
];

fn round_trip_histogram() -> Histogram {
    Histogram::new(ROUND_TRIP_BUCKETS)
}

impl ServiceMetrics {
    /// Creates the metrics and registers them in a new registry.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let round_trips = Family::<RoundTripLabels, Counter>::default();
        let round_trip_time = Family::<TargetLabels, Histogram>::new_with_constructor(
            round_trip_histogram as fn() -> Histogram,
        );
        registry.register(
            "service_round_trips",
            "Echo round trips, by target and result (ok or failed)",
            round_trips.clone(),
        );
        registry.register_with_unit(
            "service_round_trip_duration",
            "Time from sending a message to receiving its full echo, for successful round trips",
            Unit::Seconds,
            round_trip_time.clone(),
        );
        registry.register(
            "service_build",
            "Version of the running service and its TLS provider; the value is always 1",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                rustls_provider: "aws-lc-rs",
            }),
        );
        Self {
            registry: Arc::new(registry),
            round_trips,
            round_trip_time,
        }
    }

    /// Returns the registry the admin endpoint encodes.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// Creates the series for `target` at zero, so a target that never
    /// succeeds still shows `result="ok"` as 0 rather than no series.
    pub(crate) fn add_target(&self, target: &str) {
        for result in ["ok", "failed"] {
            let _ = self.round_trips.get_or_create(&RoundTripLabels {
                target: target.to_string(),
                result,
            });
        }
    }

    /// Counts a successful round trip and records its time.
    pub(crate) fn round_trip_ok(&self, target: &str, rtt: Duration) {
        self.round_trip(target, "ok");
        self.round_trip_time
            .get_or_create(&TargetLabels {
                target: target.to_string(),
            })
            .observe(rtt.as_secs_f64());
    }

    /// Counts a failed round trip.
    pub(crate) fn round_trip_failed(&self, target: &str) {
        self.round_trip(target, "failed");
    }

    fn round_trip(&self, target: &str, result: &'static str) {
        self.round_trips
            .get_or_create(&RoundTripLabels {
                target: target.to_string(),
                result,
            })
            .inc();
    }
}

impl Default for ServiceMetrics {
    fn default() -> Self {
        Self::new()
    }
}
