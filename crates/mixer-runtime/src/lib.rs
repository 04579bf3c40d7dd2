//! Process plumbing shared by the three binaries: logging, shutdown signals,
//! accept loops that survive errors, socket options, and the admin endpoint
//! with health, readiness and metrics.

mod accept;
pub mod admin;
mod json_log;
mod logging;
mod signals;
mod sockopt;
mod warn_limit;

pub use accept::accept_with_backoff;
pub use logging::{init_logging, LogFormat};
pub use signals::cancel_on_shutdown_signal;
pub use sockopt::{bind_listener, tune_stream, BindError};
pub use warn_limit::WarnLimiter;

#[doc(hidden)]
pub use tracing as __tracing;
