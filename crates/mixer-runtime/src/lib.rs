//! Process plumbing shared by the three binaries: logging, shutdown signals,
//! accept loops that survive errors, the open file limit, and socket
//! options.

mod accept;
mod fdlimit;
mod logging;
mod signals;
mod sockopt;

pub use accept::accept_with_backoff;
pub use fdlimit::{raise_fd_limit, RECOMMENDED_FD_LIMIT};
pub use logging::{init_logging, LogFormat};
pub use signals::cancel_on_shutdown_signal;
pub use sockopt::{bind_listener, tune_stream, BindError};
