//! The open file limit (RLIMIT_NOFILE): raised to its hard maximum at
//! start-up, and reported when it is too low for a busy server.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// Soft limit below which start-up logs a warning. Every proxied connection
/// holds two descriptors (client and upstream), so 4096 leaves room for
/// about 2000 connections beside the listeners and the runtime's own.
pub const RECOMMENDED_FD_LIMIT: u64 = 4096;

/// Raises the soft open file limit to the hard limit, then warns when the
/// result is below [`RECOMMENDED_FD_LIMIT`]. Returns the soft limit in
/// force afterwards, or `None` when it is unlimited.
///
/// Only the soft limit moves: an unprivileged process may raise it up to
/// the hard limit, which the operator or the container runtime sets.
pub fn raise_fd_limit() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current?;

    // An unlimited hard limit still stops at the kernel's nr_open, which is
    // not known here, so the soft limit is left alone in that case.
    let soft = match limit.maximum {
        Some(hard) if hard > soft => {
            let raised = Rlimit {
                current: Some(hard),
                maximum: Some(hard),
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => {
                    tracing::debug!(from = soft, to = hard, "raised the open file limit");
                    hard
                }
                Err(err) => {
                    tracing::debug!(error = %err, "cannot raise the open file limit");
                    soft
                }
            }
        }
        _ => soft,
    };

    if soft < RECOMMENDED_FD_LIMIT {
        tracing::warn!(
            limit = soft,
            recommended = RECOMMENDED_FD_LIMIT,
            max_connections = soft / 2,
            "open file limit (RLIMIT_NOFILE) is low: each connection uses two file \
             descriptors, and new connections are rejected at the limit; raise it, \
             for example with `ulimit -n 65536` before start, LimitNOFILE=65536 in \
             the systemd unit, or `--ulimit nofile=65536` for docker run"
        );
    }
    Some(soft)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raise_reaches_hard_limit() {
        let before = getrlimit(Resource::Nofile);
        let soft = raise_fd_limit();
        let after = getrlimit(Resource::Nofile);

        assert_eq!(soft, after.current, "returned value is the soft limit");
        assert_eq!(after.maximum, before.maximum, "hard limit unchanged");
        if before.maximum.is_some() {
            assert_eq!(after.current, after.maximum, "soft limit raised to hard");
        }
    }
}
