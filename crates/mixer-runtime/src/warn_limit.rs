//! Rate limiting for warnings that peers can trigger over and over, such as
//! rejected handshakes from a scanner.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Lets the first warning of each kind through per interval and counts the
/// repeats, which are then reported in one summary line per kind.
///
/// Callers log an allowed warning at warn level and a held-back one at
/// debug, so every event still produces exactly one line, and the warn
/// level shows at most two lines per kind and interval.
#[derive(Debug)]
pub struct WarnLimiter {
    interval: Duration,
    windows: Mutex<HashMap<String, Window>>,
}

#[derive(Debug)]
struct Window {
    opened: Instant,
    held_back: u64,
}

impl WarnLimiter {
    /// Creates a limiter whose windows last `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Returns `true` when a warning of `kind` should be logged at warn
    /// level: the first one in an interval. Returns `false` for a repeat,
    /// which is counted for the summary.
    pub fn allow(&self, kind: &str) -> bool {
        self.allow_at(kind, Instant::now())
    }

    fn allow_at(&self, kind: &str, now: Instant) -> bool {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(window) = windows.get_mut(kind) else {
            windows.insert(kind.to_string(), Window::open(now));
            return true;
        };
        if now.duration_since(window.opened) < self.interval {
            window.held_back += 1;
            return false;
        }
        log_summary(kind, window.held_back, self.interval);
        *window = Window::open(now);
        true
    }

    /// Logs one summary line for each kind whose interval has ended with
    /// warnings held back, and removes the ended intervals.
    pub fn flush(&self) {
        for (kind, held_back) in self.expire_at(Instant::now()) {
            log_summary(&kind, held_back, self.interval);
        }
    }

    /// Logs the summary of every kind with warnings held back, whether its
    /// interval has ended or not, and removes them all. Call it at shutdown
    /// so no count is lost.
    pub fn flush_all(&self) {
        // An instant one interval ahead ends every window opened so far.
        for (kind, held_back) in self.expire_at(Instant::now() + self.interval) {
            log_summary(&kind, held_back, self.interval);
        }
    }

    fn expire_at(&self, now: Instant) -> Vec<(String, u64)> {
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let mut expired = Vec::new();
        windows.retain(|kind, window| {
            if now.duration_since(window.opened) < self.interval {
                return true;
            }
            if window.held_back > 0 {
                expired.push((kind.clone(), window.held_back));
            }
            false
        });
        expired
    }

    /// Calls [`WarnLimiter::flush`] once per interval, forever; spawn it
    /// and abort the task to stop it.
    pub async fn run_summaries(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            self.flush();
        }
    }
}

impl Window {
    fn open(now: Instant) -> Self {
        Self {
            opened: now,
            held_back: 0,
        }
    }
}

fn log_summary(kind: &str, held_back: u64, interval: Duration) {
    if held_back > 0 {
        tracing::warn!(
            kind,
            suppressed = held_back,
            interval_s = interval.as_secs(),
            "repeated warnings suppressed"
        );
    }
}

/// Logs at warn level when `$warn` is true and at debug level otherwise,
/// with the same fields and message; meant for [`WarnLimiter::allow`].
#[macro_export]
macro_rules! warn_or_debug {
    ($warn:expr, $($event:tt)+) => {
        if $warn {
            $crate::__tracing::warn!($($event)+)
        } else {
            $crate::__tracing::debug!($($event)+)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn first_warning_passes_and_repeats_are_counted() {
        let limiter = WarnLimiter::new(HOUR);
        let start = Instant::now();

        assert!(limiter.allow_at("unknown_ca", start));
        assert!(!limiter.allow_at("unknown_ca", start));
        assert!(!limiter.allow_at("unknown_ca", start + Duration::from_secs(1)));
        assert!(limiter.allow_at("no_client_cert", start));

        assert!(limiter.expire_at(start + Duration::from_secs(2)).is_empty());
        let expired = limiter.expire_at(start + HOUR);
        assert_eq!(expired, vec![("unknown_ca".to_string(), 2)]);
    }

    #[test]
    fn ended_interval_lets_the_next_warning_pass() {
        let limiter = WarnLimiter::new(HOUR);
        let start = Instant::now();

        assert!(limiter.allow_at("timeout", start));
        assert!(!limiter.allow_at("timeout", start));
        assert!(limiter.allow_at("timeout", start + HOUR));
        assert!(!limiter.allow_at("timeout", start + HOUR));
        assert!(limiter.expire_at(start + HOUR).is_empty());
    }
}
