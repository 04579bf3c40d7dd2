use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A shared flag that `GET /readyz` reports. It starts as not ready; the
/// server sets it once it can take traffic and clears it when it stops.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Creates a flag that is not ready.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks the process as ready for traffic.
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Marks the process as not ready, for example while it drains.
    pub fn set_not_ready(&self) {
        self.0.store(false, Ordering::Release);
    }

    /// Whether the process is ready for traffic.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}
