//! Connection limits: per-route options written after a route, and the
//! semaphores that turn away connections beyond the maximum.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Default of `--max-connections`: far above what one mixer serves, low
/// enough that the proxy stays inside a 65536 file descriptor limit with
/// two descriptors per connection.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// Minimum time between two "connection rejected" log lines per route, so a
/// flood of connects cannot flood the log as well.
const REJECT_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// Options written after a route as `;idle=DURATION` and
/// `;max-connections=N`. Each one overrides the global flag for its route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteOptions {
    /// `Some(None)` is `idle=off`; `None` means the global setting applies.
    pub idle_timeout: Option<Option<Duration>>,
    /// Maximum open connections on this route.
    pub max_connections: Option<usize>,
}

impl RouteOptions {
    /// Parses `idle=30s;max-connections=100`; the order is free and each
    /// key may appear once.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut options = RouteOptions::default();
        for item in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let Some((key, value)) = item.split_once('=') else {
                return Err(format!("route option {item:?} is not KEY=VALUE"));
            };
            match key.trim() {
                "idle" if options.idle_timeout.is_none() => {
                    options.idle_timeout = Some(parse_idle(value.trim())?);
                }
                "max-connections" if options.max_connections.is_none() => {
                    options.max_connections = Some(parse_max(value.trim())?);
                }
                "idle" | "max-connections" => {
                    return Err(format!("route option {key:?} is given twice"));
                }
                other => {
                    return Err(format!(
                        "unknown route option {other:?}; use idle or max-connections"
                    ));
                }
            }
        }
        Ok(options)
    }
}

fn parse_idle(value: &str) -> Result<Option<Duration>, String> {
    if value == "off" {
        return Ok(None);
    }
    match humantime::parse_duration(value) {
        Ok(duration) if !duration.is_zero() => Ok(Some(duration)),
        _ => Err(format!(
            "idle timeout {value:?} is not a duration above zero such as 30s, or off"
        )),
    }
}

fn parse_max(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(max) if max > 0 => Ok(max),
        _ => Err(format!(
            "max-connections {value:?} is not a whole number above zero"
        )),
    }
}

/// The admission check run right after accept, before any TLS work.
#[derive(Debug, Clone)]
pub(crate) struct Admission {
    global: Arc<Semaphore>,
    route: Option<Arc<Semaphore>>,
    rejections: Arc<RejectLog>,
}

/// Semaphore permits a connection keeps until its task ends.
#[derive(Debug)]
pub(crate) struct Permits {
    _global: OwnedSemaphorePermit,
    _route: Option<OwnedSemaphorePermit>,
}

/// The limit that turned a connection away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    Global,
    Route,
}

impl Limit {
    /// The `reason` metric label.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Limit::Global => "global",
            Limit::Route => "route",
        }
    }

    /// The setting that was reached, for the log.
    fn flag(self) -> &'static str {
        match self {
            Limit::Global => "max-connections",
            Limit::Route => "route max-connections",
        }
    }
}

impl Admission {
    /// `global` is shared by every route; `route_max` applies to one.
    pub(crate) fn new(global: Arc<Semaphore>, route_max: Option<usize>) -> Self {
        Self {
            global,
            route: route_max.map(|max| Arc::new(Semaphore::new(max))),
            rejections: Arc::new(RejectLog::default()),
        }
    }

    /// Takes a slot without waiting; the caller closes the connection when
    /// none is free, so a burst never queues and open connections keep
    /// their slots.
    pub(crate) fn try_admit(&self) -> Result<Permits, Limit> {
        let route = match &self.route {
            Some(route) => Some(
                route
                    .clone()
                    .try_acquire_owned()
                    .map_err(|_| Limit::Route)?,
            ),
            None => None,
        };
        let global = self
            .global
            .clone()
            .try_acquire_owned()
            .map_err(|_| Limit::Global)?;
        Ok(Permits {
            _global: global,
            _route: route,
        })
    }

    /// Logs a rejection, at most once per [`REJECT_LOG_INTERVAL`], with the
    /// number of rejections since the previous line.
    pub(crate) fn log_rejection(&self, limit: Limit, client: std::net::SocketAddr) {
        let Some(count) = self.rejections.record() else {
            return;
        };
        tracing::warn!(
            client.addr = %client,
            limit = limit.flag(),
            rejected = count,
            "connection rejected: limit reached"
        );
    }
}

/// A rejection counter that decides when the next log line is due.
#[derive(Debug, Default)]
struct RejectLog {
    count: AtomicU64,
    last_logged: Mutex<Option<Instant>>,
}

impl RejectLog {
    /// Returns the count to log, or `None` while the interval runs.
    fn record(&self) -> Option<u64> {
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut last = self.last_logged.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < REJECT_LOG_INTERVAL) {
            return None;
        }
        *last = Some(now);
        Some(self.count.swap(0, Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_options_in_any_order() {
        let options = RouteOptions::parse("max-connections=5; idle=30s").unwrap();
        assert_eq!(options.max_connections, Some(5));
        assert_eq!(options.idle_timeout, Some(Some(Duration::from_secs(30))));
        let off = RouteOptions::parse("idle=off").unwrap();
        assert_eq!(off.idle_timeout, Some(None));
    }

    #[test]
    fn rejects_bad_options_naming_the_value() {
        let cases = [
            ("idle", "not KEY=VALUE"),
            ("idle=soon", "\"soon\""),
            ("idle=0s", "\"0s\""),
            ("max-connections=0", "\"0\""),
            ("max-connections=-3", "\"-3\""),
            ("idle=1s;idle=2s", "given twice"),
            ("timeout=1s", "unknown route option \"timeout\""),
        ];
        for (input, expected) in cases {
            let err = RouteOptions::parse(input).unwrap_err();
            assert!(err.contains(expected), "{input}: {err}");
        }
    }

    #[test]
    fn route_limit_rejects_without_waiting() {
        let admission = Admission::new(Arc::new(Semaphore::new(10)), Some(1));
        let held = admission.try_admit().expect("first slot");
        assert_eq!(admission.try_admit().unwrap_err(), Limit::Route);
        drop(held);
        assert!(admission.try_admit().is_ok());
    }

    #[test]
    fn rejection_log_is_rate_limited() {
        let log = RejectLog::default();
        assert_eq!(log.record(), Some(1));
        assert_eq!(log.record(), None);
        assert_eq!(log.record(), None);
    }
}
