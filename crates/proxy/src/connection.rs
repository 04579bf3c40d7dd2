//! One client connection: handshake, upstream connect, copy, closing log.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mixer_runtime::WarnLimiter;
use mixer_tls::rustls::ServerConnection;
use mixer_tls::{capture_presented_identity, classify_handshake_error, PeerIdentity};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::copy::{copy_both_ways, CopyOutcome, Side, Transfer};
use crate::metrics::{Outcome, RouteMetrics};
use crate::reject::{reject, Rejection};
use crate::route::{Route, Upstream};
use crate::tls::SharedServerConfig;

/// What a connection task needs besides its socket.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionContext {
    pub route: Arc<Route>,
    pub tls: SharedServerConfig,
    pub handshake_timeout: Duration,
    pub connect_timeout: Duration,
    /// Cancelled when the drain timeout has passed: open copies stop.
    pub cut: CancellationToken,
    /// The route's metric handles, for the connection's counts and times.
    pub metrics: RouteMetrics,
    /// Rate limit for the warnings that clients can trigger.
    pub warnings: Arc<WarnLimiter>,
}

/// Serves one accepted TCP connection to its end.
pub(crate) async fn serve_connection(
    stream: TcpStream,
    client: SocketAddr,
    ctx: ConnectionContext,
) {
    let span = tracing::info_span!(
        "conn",
        client.addr = %client,
        route = %ctx.route,
    );
    handle(stream, ctx).instrument(span).await
}

async fn handle(stream: TcpStream, ctx: ConnectionContext) {
    let started = Instant::now();
    let _active = ctx.metrics.connection_accepted();
    mixer_runtime::tune_stream(&stream);

    // Handshake, with the identity the client presented kept for the log.
    let acceptor = TlsAcceptor::from(ctx.tls.load_full());
    let handshake = tokio::time::timeout(ctx.handshake_timeout, acceptor.accept(stream));
    let (result, presented) = capture_presented_identity(handshake).await;
    let tls_stream = match result {
        Ok(Ok(tls_stream)) => tls_stream,
        Ok(Err(err)) => {
            let failure = classify_handshake_error(&err);
            let rule = presented.denial.map(|d| d.rule);
            let (outcome, reason) = match rule {
                Some(_) => (Outcome::Denied, "policy"),
                None => (Outcome::HandshakeFailed, failure.reason),
            };
            let rejection = Rejection {
                outcome,
                reason,
                detail: &failure.detail,
                identity: presented.identity.map(|id| id.to_string()),
                denied_by: rule.as_deref(),
                started,
            };
            reject(&ctx, rejection);
            return;
        }
        Err(_elapsed) => {
            let detail = format!(
                "no complete handshake within {}",
                humantime::format_duration(ctx.handshake_timeout)
            );
            let rejection = Rejection {
                outcome: Outcome::Timeout,
                reason: "handshake",
                detail: &detail,
                identity: presented.identity.map(|id| id.to_string()),
                denied_by: None,
                started,
            };
            reject(&ctx, rejection);
            return;
        }
    };

    let (_, session) = tls_stream.get_ref();
    let summary = SessionSummary::from_connection(session);
    let handshake_done = started.elapsed();
    ctx.metrics.handshake_completed(handshake_done);

    // Upstream connect; the client gets a clean close_notify if it fails.
    let upstream = match connect_upstream(&ctx.route.upstream, ctx.connect_timeout).await {
        Ok(upstream) => upstream,
        Err(err) => {
            let mut tls_stream = tls_stream;
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut tls_stream).await;
            let detail = format!("cannot connect to {}: {err}", ctx.route.upstream);
            let rejection = Rejection {
                outcome: Outcome::UpstreamUnreachable,
                reason: connect_failure_reason(&err),
                detail: &detail,
                identity: Some(summary.identity.to_string()),
                denied_by: None,
                started,
            };
            reject(&ctx, rejection);
            return;
        }
    };
    ctx.metrics
        .upstream_connected(started.elapsed().saturating_sub(handshake_done));
    mixer_runtime::tune_stream(&upstream);
    tracing::info!(
        client.cn = summary.identity.common_name(),
        client.san = %summary.identity.alt_names(),
        tls.version = %summary.version,
        tls.cipher = %summary.cipher,
        tls.kx = %summary.key_exchange,
        handshake_ms = millis(handshake_done),
        "connection accepted"
    );

    let upstream = ctx.metrics.count_upstream(upstream);
    let transfer = tokio::select! {
        transfer = copy_both_ways(tls_stream, upstream) => Some(transfer),
        _ = ctx.cut.cancelled() => None,
    };
    let labels = close_labels(transfer.as_ref());
    ctx.metrics.connection_closed(labels.0, labels.1);
    log_close(&summary, transfer, started, labels);
}

/// Returns the `outcome` and `reason` labels of a connection whose copy
/// ended, or was cut (`None`) at the drain timeout.
fn close_labels(transfer: Option<&Transfer>) -> (Outcome, &'static str) {
    match transfer.map(|t| &t.outcome) {
        None => (Outcome::Cut, "drain_timeout"),
        Some(CopyOutcome::Completed {
            first: Side::Client,
        }) => (Outcome::Ok, "client_closed_first"),
        Some(CopyOutcome::Completed {
            first: Side::Upstream,
        }) => (Outcome::Ok, "upstream_closed_first"),
        Some(CopyOutcome::Failed {
            side: Side::Client, ..
        }) => (Outcome::CopyError, "client"),
        Some(CopyOutcome::Failed {
            side: Side::Upstream,
            ..
        }) => (Outcome::CopyError, "upstream"),
    }
}

/// Names a failed upstream connect for the `reason` label.
fn connect_failure_reason(err: &io::Error) -> &'static str {
    match err.kind() {
        io::ErrorKind::TimedOut => "timeout",
        io::ErrorKind::ConnectionRefused => "refused",
        io::ErrorKind::NotFound => "no_address",
        _ => "error",
    }
}

/// Resolves the upstream name now and tries each address in turn.
async fn connect_upstream(upstream: &Upstream, timeout: Duration) -> io::Result<TcpStream> {
    let attempt = async {
        let addrs = tokio::net::lookup_host((upstream.host.as_str(), upstream.port)).await?;
        let mut last_error = None;
        for addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(stream) => return Ok(stream),
                Err(err) => last_error = Some(err),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "name resolved to no address")
        }))
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "connect timed out after {}",
                humantime::format_duration(timeout)
            ),
        )),
    }
}

/// What the closing log line reports about the TLS session.
struct SessionSummary {
    identity: PeerIdentity,
    version: String,
    cipher: String,
    key_exchange: String,
}

impl SessionSummary {
    fn from_connection(session: &ServerConnection) -> Self {
        let identity = session
            .peer_certificates()
            .and_then(|certs| certs.first())
            .and_then(PeerIdentity::from_certificate)
            .unwrap_or_default();
        let name = |value: Option<String>| value.unwrap_or_else(|| "-".to_string());
        Self {
            identity,
            version: name(session.protocol_version().map(|v| format!("{v:?}"))),
            cipher: name(
                session
                    .negotiated_cipher_suite()
                    .map(|s| format!("{:?}", s.suite())),
            ),
            key_exchange: name(
                session
                    .negotiated_key_exchange_group()
                    .map(|g| format!("{:?}", g.name())),
            ),
        }
    }
}

fn log_close(
    summary: &SessionSummary,
    transfer: Option<Transfer>,
    started: Instant,
    (outcome, reason): (Outcome, &'static str),
) {
    let Some(transfer) = transfer else {
        tracing::warn!(
            client.cn = summary.identity.common_name(),
            client.san = %summary.identity.alt_names(),
            outcome = outcome.as_str(),
            reason,
            duration_ms = millis(started.elapsed()),
            "connection closed"
        );
        return;
    };
    let error = match &transfer.outcome {
        CopyOutcome::Completed { .. } => None,
        CopyOutcome::Failed { error, .. } => Some(error.to_string()),
    };
    tracing::info!(
        client.cn = summary.identity.common_name(),
        client.san = %summary.identity.alt_names(),
        bytes.to_upstream = transfer.to_upstream,
        bytes.to_client = transfer.to_client,
        duration_ms = millis(started.elapsed()),
        outcome = outcome.as_str(),
        reason,
        error,
        "connection closed"
    );
}

pub(crate) fn millis(duration: Duration) -> u64 {
    duration.as_millis().try_into().unwrap_or(u64::MAX)
}
