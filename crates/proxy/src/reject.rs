//! The single log line and metric of a connection that ended before any
//! byte was forwarded.

use std::fmt::Display;
use std::time::Instant;

use crate::connection::{millis, ConnectionContext};
use crate::metrics::Outcome;

/// The reason a connection was rejected, in the words of the metric
/// labels.
pub(crate) struct Rejection<'a> {
    pub outcome: Outcome,
    /// The `reason` label, such as `no_client_cert`.
    pub reason: &'static str,
    /// A sentence for the operator.
    pub detail: &'a dyn Display,
    /// The identity the client presented, if any.
    pub identity: Option<String>,
    /// The access rule that rejected the client, if one did.
    pub denied_by: Option<&'a str>,
    pub started: Instant,
}

/// Counts the rejection and logs it once. A client that closes during the
/// handshake, as TCP port checks do, logs at debug. Other reasons log at
/// warn, rate-limited per outcome and reason, and at debug when held back.
pub(crate) fn reject(ctx: &ConnectionContext, rejection: Rejection<'_>) {
    ctx.metrics
        .connection_closed(rejection.outcome, rejection.reason);

    let quiet = rejection.reason == "closed_during_handshake";
    let kind = format!("{}:{}", rejection.outcome.as_str(), rejection.reason);
    let warn = !quiet && ctx.warnings.allow(&kind);
    mixer_runtime::warn_or_debug!(
        warn,
        outcome = rejection.outcome.as_str(),
        reason = rejection.reason,
        detail = %rejection.detail,
        client.identity = rejection.identity.as_deref().unwrap_or("-"),
        denied_by = rejection.denied_by,
        duration_ms = millis(rejection.started.elapsed()),
        "connection rejected"
    );
}
