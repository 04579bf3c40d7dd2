//! Process plumbing shared by the three binaries: logging, shutdown signals,
//! accept loops that survive errors, the open file limit, socket options,
//! and the admin endpoint with health, readiness and metrics.

mod accept;
pub mod admin;
mod fdlimit;
mod json_log;
mod logging;
mod signals;
mod sockopt;
mod warn_limit;

pub use accept::accept_with_backoff;
pub use fdlimit::{raise_fd_limit, RECOMMENDED_FD_LIMIT};
pub use logging::{init_logging, LogFormat};
pub use signals::cancel_on_shutdown_signal;
pub use sockopt::{bind_listener, tune_stream, BindError};
pub use warn_limit::WarnLimiter;

#[doc(hidden)]
pub use tracing as __tracing;
