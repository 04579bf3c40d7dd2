//! Results of one measurement, as a table for people and JSON for scripts.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::cli::Direction;

/// One measurement against one server.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The name given with --label, if any.
    pub label: Option<String>,
    /// The server address.
    pub target: String,
    /// Seconds from the first connect to the last close.
    pub elapsed_s: f64,
    /// The figures of the mode that ran.
    #[serde(flatten)]
    pub result: ModeResult,
}

/// The figures of each mode; `mode` names the variant in JSON.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum ModeResult {
    /// See [`HandshakeStats`].
    Handshakes(HandshakeStats),
    /// See [`ThroughputStats`].
    Throughput(ThroughputStats),
    /// See [`LatencyStats`].
    Latency(LatencyStats),
    /// See [`IdleStats`].
    Idle(IdleStats),
}

/// Connections opened in a closed loop.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HandshakeStats {
    /// Connections in flight at once.
    pub workers: usize,
    /// Connections that completed the handshake and the probe echo.
    pub completed: u64,
    /// Connections that failed at any step.
    pub failed: u64,
    /// Completed connections per second of elapsed time.
    pub per_second: f64,
    /// The first failure, if any.
    pub first_error: Option<String>,
}

/// Bytes moved and verified.
#[derive(Debug, Clone, Serialize)]
pub struct ThroughputStats {
    /// The direction of the bytes.
    pub direction: Direction,
    /// Connections that moved data at once.
    pub connections: usize,
    /// Bytes the client wrote.
    pub bytes_sent: u64,
    /// Bytes the client read back.
    pub bytes_received: u64,
    /// Bytes that crossed the server: sent plus received for echo.
    pub bytes_moved: u64,
    /// Decimal megabytes moved per second.
    pub megabytes_per_second: f64,
    /// Connections whose bytes did not match the stream, or that failed.
    pub failed_connections: usize,
    /// The first failure, if any.
    pub first_error: Option<String>,
}

/// Round-trip times of paced ping-pong messages, in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyStats {
    /// Target messages per second.
    pub rate: u32,
    /// Bytes per message.
    pub message_size: usize,
    /// Messages whose echo came back intact.
    pub messages: u64,
    /// Messages sent more than one interval after their slot, because the
    /// previous echo or the sending thread was late.
    pub late_sends: u64,
    /// Median round-trip time.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Slowest round trip.
    pub max_us: f64,
    /// Arithmetic mean.
    pub mean_us: f64,
}

/// Idle connections held open.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IdleStats {
    /// Connections requested.
    pub requested: usize,
    /// Connections that completed the handshake and the probe echo.
    pub established: usize,
    /// Connections that failed.
    pub failed: usize,
    /// Seconds the connections were held after all were open.
    pub held_s: f64,
    /// The first failure, if any.
    pub first_error: Option<String>,
}

impl Report {
    /// Derives the per-second figures from the counts and `elapsed_s`.
    pub fn fill_rates(&mut self) {
        let seconds = self.elapsed_s.max(f64::EPSILON);
        match &mut self.result {
            ModeResult::Handshakes(stats) => stats.per_second = stats.completed as f64 / seconds,
            ModeResult::Throughput(stats) => {
                stats.megabytes_per_second = stats.bytes_moved as f64 / 1e6 / seconds;
            }
            ModeResult::Latency(_) | ModeResult::Idle(_) => {}
        }
    }

    /// Fails when the run produced no usable figure or corrupted data.
    pub fn check(&self) -> anyhow::Result<()> {
        let problem = match &self.result {
            ModeResult::Handshakes(stats) if stats.completed == 0 => {
                Some(format!("no handshake completed: {:?}", stats.first_error))
            }
            ModeResult::Throughput(stats) if stats.failed_connections > 0 => Some(format!(
                "{} of {} connections failed: {:?}",
                stats.failed_connections, stats.connections, stats.first_error
            )),
            ModeResult::Throughput(stats) if stats.bytes_moved == 0 => {
                Some("no byte moved; does the upstream match --direction?".to_string())
            }
            ModeResult::Latency(stats) if stats.messages == 0 => {
                Some("no message came back".to_string())
            }
            ModeResult::Idle(stats) if stats.failed > 0 => Some(format!(
                "{} of {} connections failed: {:?}",
                stats.failed, stats.requested, stats.first_error
            )),
            _ => None,
        };
        match problem {
            Some(problem) => anyhow::bail!("measurement against {} failed: {problem}", self.target),
            None => Ok(()),
        }
    }

    /// Writes the report as pretty-printed JSON.
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write results to {}", path.display()))
    }

    /// Formats the report as a two-column table.
    pub fn table(&self) -> String {
        let mut rows: Vec<(&str, String)> = vec![
            ("label", self.label.clone().unwrap_or_else(|| "-".into())),
            ("target", self.target.clone()),
            ("elapsed", format!("{:.2} s", self.elapsed_s)),
        ];
        match &self.result {
            ModeResult::Handshakes(s) => {
                rows.push(("mode", "handshakes".into()));
                rows.push(("workers", s.workers.to_string()));
                rows.push(("completed", s.completed.to_string()));
                rows.push(("failed", s.failed.to_string()));
                rows.push(("per second", format!("{:.1}", s.per_second)));
            }
            ModeResult::Throughput(s) => {
                rows.push(("mode", format!("throughput ({:?})", s.direction)));
                rows.push(("connections", s.connections.to_string()));
                rows.push(("bytes sent", s.bytes_sent.to_string()));
                rows.push(("bytes received", s.bytes_received.to_string()));
                rows.push(("bytes moved", s.bytes_moved.to_string()));
                rows.push(("MB/s moved", format!("{:.1}", s.megabytes_per_second)));
                rows.push(("failed connections", s.failed_connections.to_string()));
            }
            ModeResult::Latency(s) => {
                rows.push(("mode", "latency".into()));
                rows.push(("rate", format!("{} msg/s", s.rate)));
                rows.push(("message size", format!("{} B", s.message_size)));
                rows.push(("messages", s.messages.to_string()));
                rows.push(("late sends", s.late_sends.to_string()));
                rows.push(("p50", format!("{:.1} µs", s.p50_us)));
                rows.push(("p99", format!("{:.1} µs", s.p99_us)));
                rows.push(("p99.9", format!("{:.1} µs", s.p999_us)));
                rows.push(("max", format!("{:.1} µs", s.max_us)));
            }
            ModeResult::Idle(s) => {
                rows.push(("mode", "idle".into()));
                rows.push(("requested", s.requested.to_string()));
                rows.push(("established", s.established.to_string()));
                rows.push(("failed", s.failed.to_string()));
                rows.push(("held", format!("{:.2} s", s.held_s)));
            }
        }
        let first_error = match &self.result {
            ModeResult::Handshakes(s) => s.first_error.as_deref(),
            ModeResult::Throughput(s) => s.first_error.as_deref(),
            ModeResult::Idle(s) => s.first_error.as_deref(),
            ModeResult::Latency(_) => None,
        };
        if let Some(error) = first_error {
            rows.push(("first error", error.to_string()));
        }

        let width = rows.iter().map(|(key, _)| key.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (key, value) in rows {
            let _ = writeln!(out, "{key:<width$}  {value}");
        }
        out
    }
}
