//! The default mode: a round trip on every port every few seconds.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mixer_runtime::WarnLimiter;
use mixer_tls::rustls::ClientConfig;
use rand::distr::{Alphanumeric, SampleString};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_rustls::client::TlsStream;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::metrics::ServiceMetrics;
use crate::{connect_tls, Target};

/// Interval of the rate limit on round-trip failure warnings per target:
/// a proxy that is down for an hour logs two warnings a minute per target,
/// not one per round.
const WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// How the probe runs.
#[derive(Debug, Clone)]
pub struct ProbeSettings {
    /// Every address to check, each on its own connection.
    pub targets: Vec<Target>,
    /// Pause between rounds.
    pub interval: Duration,
    /// Rounds to run; `None` runs until shutdown.
    pub rounds: Option<u64>,
    /// Limit for one connect plus handshake, and for one round trip.
    pub timeout: Duration,
    /// Bytes per message.
    pub message_size: usize,
}

/// Round trips counted over the whole run, all targets together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProbeReport {
    /// Round trips whose echo matched byte for byte.
    pub succeeded: u64,
    /// Round trips that failed to connect, timed out or came back different.
    pub failed: u64,
}

/// Runs the probe on every target at once until the rounds are done or
/// `shutdown` is cancelled.
pub async fn run_probe(
    settings: &ProbeSettings,
    tls: Arc<ClientConfig>,
    shutdown: CancellationToken,
) -> ProbeReport {
    run_probe_observed(settings, tls, shutdown, Arc::new(ServiceMetrics::new())).await
}

/// Like [`run_probe`], recording every round trip in `metrics`.
pub async fn run_probe_observed(
    settings: &ProbeSettings,
    tls: Arc<ClientConfig>,
    shutdown: CancellationToken,
    metrics: Arc<ServiceMetrics>,
) -> ProbeReport {
    let warnings = Arc::new(WarnLimiter::new(WARNING_INTERVAL));
    let summaries = tokio::spawn(warnings.clone().run_summaries());
    let mut tasks = JoinSet::new();
    for target in &settings.targets {
        metrics.add_target(&target.to_string());
        let span = tracing::info_span!("probe", target = %target);
        let task = probe_target(
            target.clone(),
            settings.clone(),
            tls.clone(),
            shutdown.clone(),
            metrics.clone(),
            warnings.clone(),
        );
        tasks.spawn(task.instrument(span));
    }

    let mut report = ProbeReport::default();
    while let Some(joined) = tasks.join_next().await {
        let part = joined.unwrap_or(ProbeReport {
            succeeded: 0,
            failed: 1,
        });
        report.succeeded += part.succeeded;
        report.failed += part.failed;
    }
    summaries.abort();
    warnings.flush_all();
    tracing::info!(
        round_trips.ok = report.succeeded,
        round_trips.failed = report.failed,
        "probe finished"
    );
    report
}

async fn probe_target(
    target: Target,
    settings: ProbeSettings,
    tls: Arc<ClientConfig>,
    shutdown: CancellationToken,
    metrics: Arc<ServiceMetrics>,
    warnings: Arc<WarnLimiter>,
) -> ProbeReport {
    let label = target.to_string();
    let mut report = ProbeReport::default();
    let mut connection: Option<TlsStream<TcpStream>> = None;
    let mut round = 0u64;

    loop {
        round += 1;
        let result = tokio::select! {
            result = round_trip(&target, &settings, &tls, &mut connection, round) => result,
            _ = shutdown.cancelled() => break,
        };
        match result {
            Ok(rtt) => {
                report.succeeded += 1;
                metrics.round_trip_ok(&label, rtt);
                tracing::info!(round, rtt_us = rtt.as_micros() as u64, "round trip ok");
            }
            Err(err) => {
                report.failed += 1;
                metrics.round_trip_failed(&label);
                connection = None;
                let warn = warnings.allow(&label);
                mixer_runtime::warn_or_debug!(warn, round, error = %err, "round trip failed");
            }
        }

        if settings.rounds.is_some_and(|limit| round >= limit) {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.interval) => {}
            _ = shutdown.cancelled() => break,
        }
    }

    if let Some(mut stream) = connection {
        let _ = stream.shutdown().await;
    }
    report
}

/// Sends one message on the open connection, opening one first if needed,
/// and checks the echo. Returns the time from send to the last echoed byte.
async fn round_trip(
    target: &Target,
    settings: &ProbeSettings,
    tls: &Arc<ClientConfig>,
    connection: &mut Option<TlsStream<TcpStream>>,
    round: u64,
) -> io::Result<Duration> {
    if connection.is_none() {
        let stream = connect_tls(target, tls.clone(), settings.timeout)
            .await
            .map_err(describe_connect_error)?;
        let (_, session) = stream.get_ref();
        let version = session.protocol_version().map(|v| format!("{v:?}"));
        let key_exchange = session
            .negotiated_key_exchange_group()
            .map(|group| format!("{:?}", group.name()));
        tracing::info!(
            tls.version = version.as_deref().unwrap_or("-"),
            tls.kx = key_exchange.as_deref().unwrap_or("-"),
            "connected"
        );
        *connection = Some(stream);
    }
    let Some(stream) = connection.as_mut() else {
        unreachable!("the connection was opened above");
    };

    let message = probe_message(round, settings.message_size);
    let mut echo = vec![0u8; message.len()];
    let started = Instant::now();
    let exchange = async {
        stream.write_all(&message).await?;
        stream.flush().await?;
        stream.read_exact(&mut echo).await
    };
    match tokio::time::timeout(settings.timeout, exchange).await {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => return Err(describe_exchange_error(err)),
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no echo within the timeout",
            ))
        }
    }
    let rtt = started.elapsed();

    if echo != message {
        let first_diff = echo
            .iter()
            .zip(&message)
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("echo differs from the message at byte {first_diff}"),
        ));
    }
    Ok(rtt)
}

/// Builds a message of exactly `size` bytes: a round label, then random
/// letters, so a stale or misrouted echo cannot match by chance.
fn probe_message(round: u64, size: usize) -> Vec<u8> {
    let mut message = format!("round {round} ").into_bytes();
    let padding = size.saturating_sub(message.len());
    message.extend(
        Alphanumeric
            .sample_string(&mut rand::rng(), padding)
            .into_bytes(),
    );
    message.truncate(size);
    message
}

/// Rewords a failed send or receive so the log shows what the proxy did.
fn describe_exchange_error(err: io::Error) -> io::Error {
    let has_tls_error = err
        .get_ref()
        .is_some_and(|inner| inner.is::<mixer_tls::rustls::Error>());
    if has_tls_error {
        // With TLS 1.3 the proxy checks the client certificate after the
        // client has finished its handshake, so a rejection arrives here.
        let failure = mixer_tls::classify_handshake_error(&err);
        return io::Error::new(
            err.kind(),
            format!("proxy ended the session: {}", failure.detail),
        );
    }
    let detail = match err.kind() {
        io::ErrorKind::UnexpectedEof => {
            "proxy closed the connection before the echo came back; \
             the mixer may be down, or the proxy may be stopping"
        }
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset => {
            "proxy reset the connection; it may be stopping or have cut the connection"
        }
        _ => return err,
    };
    io::Error::new(err.kind(), format!("{detail} ({err})"))
}

fn describe_connect_error(err: io::Error) -> io::Error {
    let has_tls_error = err
        .get_ref()
        .is_some_and(|inner| inner.is::<mixer_tls::rustls::Error>());
    if !has_tls_error {
        return err;
    }
    let failure = mixer_tls::classify_handshake_error(&err);
    io::Error::new(
        err.kind(),
        format!("TLS handshake failed: {}", failure.detail),
    )
}
