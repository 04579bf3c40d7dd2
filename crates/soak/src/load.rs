//! The three kinds of load a soak run keeps up at once: connection churn,
//! bulk echo streams and idle links, each counting successes and failures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mixer_tls::rustls::ClientConfig;
use mixer_tls::rustls::ClientConnection;
use rand::{Rng, RngCore};
use service::{connect_tls, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::echo::{echo_round_trip, read_to_end_hashed};

/// Upper bound on iterations of any worker loop; the stop token normally
/// ends the loops long before.
const MAX_ITERATIONS: u64 = 100_000_000;

/// Failure messages kept for the final report; later ones are only counted.
const KEPT_FAILURES: usize = 20;

/// One in this many churn connections ends with a TCP close and no
/// close_notify, the way a crashed client goes away.
const ABRUPT_CLOSE_EVERY: u64 = 8;

/// The load mix and the proxy it runs against.
#[derive(Debug, Clone)]
pub struct LoadSettings {
    /// The proxy listener to connect to.
    pub target: Target,
    /// The client config with the service certificate.
    pub tls: Arc<ClientConfig>,
    /// Workers that connect, do one small round trip and close, in a loop.
    pub churn_workers: usize,
    /// Workers that run one bulk echo transfer after another.
    pub bulk_streams: usize,
    /// Bytes each bulk transfer sends (and expects back).
    pub bulk_bytes: u64,
    /// Workers that misbehave in a loop: junk bytes, a truncated
    /// ClientHello, a reset during the handshake, a reset mid-stream.
    pub hostile_workers: usize,
    /// Connections kept open for the whole run, pinged now and then.
    pub idle_links: usize,
    /// Pause between two pings on an idle link.
    pub idle_ping_every: Duration,
    /// Limit for one connect plus handshake and for one small round trip.
    pub timeout: Duration,
    /// Limit for one bulk transfer.
    pub bulk_timeout: Duration,
}

/// Counts of completed work and failures, shared by all workers.
#[derive(Debug, Default)]
pub struct Counters {
    /// Churn connections whose round trip matched.
    pub churn_ok: AtomicU64,
    /// Bulk transfers whose SHA-256 matched.
    pub bulk_ok: AtomicU64,
    /// Idle-link pings whose echo matched.
    pub idle_pings: AtomicU64,
    /// Hostile connections that the proxy closed, as it should.
    pub hostile_closed: AtomicU64,
    /// Anything that failed: connect, handshake, timeout, or a byte that
    /// differed.
    pub failures: AtomicU64,
    first_failures: Mutex<Vec<String>>,
}

impl Counters {
    fn fail(&self, kind: &str, message: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(kind, error = %message, "soak failure");
        let mut kept = self
            .first_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if kept.len() < KEPT_FAILURES {
            kept.push(format!("{kind}: {message}"));
        }
    }

    /// Returns the first failure messages, up to twenty.
    pub fn first_failures(&self) -> Vec<String> {
        self.first_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// Runs every worker until `stop` is cancelled; a transfer in progress
/// finishes first (within its timeout).
pub async fn run_load(settings: &LoadSettings, counters: &Arc<Counters>, stop: &CancellationToken) {
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..settings.churn_workers {
        let (settings, counters, stop) = (settings.clone(), counters.clone(), stop.clone());
        workers.spawn(async move { churn(&settings, &counters, &stop, worker as u64).await });
    }
    for worker in 0..settings.bulk_streams {
        let (settings, counters, stop) = (settings.clone(), counters.clone(), stop.clone());
        workers.spawn(async move { bulk(&settings, &counters, &stop, worker as u64).await });
    }
    for worker in 0..settings.hostile_workers {
        let (settings, counters, stop) = (settings.clone(), counters.clone(), stop.clone());
        workers.spawn(async move { hostile(&settings, &counters, &stop, worker as u64).await });
    }
    for _ in 0..settings.idle_links {
        let (settings, counters, stop) = (settings.clone(), counters.clone(), stop.clone());
        workers.spawn(async move { idle(&settings, &counters, &stop).await });
    }
    while workers.join_next().await.is_some() {}
}

async fn churn(settings: &LoadSettings, counters: &Counters, stop: &CancellationToken, id: u64) {
    for iteration in 0..MAX_ITERATIONS {
        if stop.is_cancelled() {
            return;
        }
        let size = rand::rng().random_range(1..=4096u64);
        let abrupt = iteration % ABRUPT_CLOSE_EVERY == ABRUPT_CLOSE_EVERY - 1;
        let attempt = async {
            let mut stream = connect_tls(&settings.target, settings.tls.clone(), settings.timeout)
                .await
                .map_err(|err| format!("connect: {err}"))?;
            if !abrupt {
                return echo_round_trip(stream, size, id << 32 | iteration).await;
            }
            // Send, read the echo, then close TCP without close_notify.
            let message = vec![0x42u8; size as usize];
            let mut echoed = vec![0u8; size as usize];
            stream
                .write_all(&message)
                .await
                .map_err(|e| e.to_string())?;
            stream
                .read_exact(&mut echoed)
                .await
                .map_err(|e| e.to_string())?;
            if echoed != message {
                return Err("echo differs".to_string());
            }
            Ok(())
        };
        match tokio::time::timeout(settings.timeout, attempt).await {
            Ok(Ok(())) => {
                counters.churn_ok.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err(err)) => counters.fail("churn", err),
            Err(_) => counters.fail("churn", "round trip timed out".to_string()),
        }
    }
}

async fn bulk(settings: &LoadSettings, counters: &Counters, stop: &CancellationToken, id: u64) {
    for iteration in 0..MAX_ITERATIONS {
        if stop.is_cancelled() {
            return;
        }
        let attempt = async {
            let stream = connect_tls(&settings.target, settings.tls.clone(), settings.timeout)
                .await
                .map_err(|err| format!("connect: {err}"))?;
            echo_round_trip(
                stream,
                settings.bulk_bytes,
                (1 << 63) | id << 32 | iteration,
            )
            .await
        };
        match tokio::time::timeout(settings.bulk_timeout, attempt).await {
            Ok(Ok(())) => {
                counters.bulk_ok.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err(err)) => counters.fail("bulk", err),
            Err(_) => counters.fail("bulk", "transfer timed out".to_string()),
        }
    }
}

async fn idle(settings: &LoadSettings, counters: &Counters, stop: &CancellationToken) {
    let connect = connect_tls(&settings.target, settings.tls.clone(), settings.timeout);
    let mut stream = match connect.await {
        Ok(stream) => stream,
        Err(err) => return counters.fail("idle", format!("connect: {err}")),
    };

    for ping in 0..MAX_ITERATIONS {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(settings.idle_ping_every) => {}
        }
        let message = ping.to_be_bytes();
        let mut echoed = [0u8; 8];
        let round_trip = async {
            stream.write_all(&message).await?;
            stream.read_exact(&mut echoed).await
        };
        match tokio::time::timeout(settings.timeout, round_trip).await {
            Ok(Ok(_)) if echoed == message => {
                counters.idle_pings.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Ok(_)) => return counters.fail("idle", "ping echo differs".to_string()),
            Ok(Err(err)) => return counters.fail("idle", format!("ping: {err}")),
            Err(_) => return counters.fail("idle", "ping timed out".to_string()),
        }
    }

    // A clean close: close_notify out, the mixer's FIN back as close_notify.
    let close = async {
        stream.shutdown().await?;
        read_to_end_hashed(&mut stream).await
    };
    match tokio::time::timeout(settings.timeout, close).await {
        Ok(Ok((0, _))) => {}
        Ok(Ok((extra, _))) => counters.fail("idle", format!("{extra} stray bytes at close")),
        Ok(Err(err)) => counters.fail("idle", format!("close: {err}")),
        Err(_) => counters.fail("idle", "close timed out".to_string()),
    }
}

/// The ways a hostile worker misbehaves, taken in turn.
const HOSTILE_KINDS: u64 = 4;

async fn hostile(settings: &LoadSettings, counters: &Counters, stop: &CancellationToken, id: u64) {
    let hello = client_hello(settings);
    for iteration in 0..MAX_ITERATIONS {
        if stop.is_cancelled() {
            return;
        }
        let kind = (id + iteration) % HOSTILE_KINDS;
        let attempt = async {
            match kind {
                // Junk bytes, then wait for the proxy to close.
                0 => {
                    let mut junk = vec![0u8; rand::rng().random_range(1..=2048)];
                    rand::rng().fill_bytes(&mut junk);
                    expect_close(settings, &junk).await
                }
                // Half a ClientHello, then FIN, so the proxy reads end of stream.
                1 => expect_close(settings, &hello[..hello.len() / 2]).await,
                // A reset right after connecting.
                2 => {
                    let tcp =
                        TcpStream::connect((settings.target.host.as_str(), settings.target.port))
                            .await;
                    let tcp = tcp.map_err(|err| format!("connect: {err}"))?;
                    tcp.set_zero_linger().map_err(|err| err.to_string())?;
                    Ok(())
                }
                // A reset in the middle of a stream, without close_notify.
                _ => {
                    let tls = settings.tls.clone();
                    let stream = connect_tls(&settings.target, tls, settings.timeout).await;
                    let mut stream = stream.map_err(|err| format!("connect: {err}"))?;
                    let chunk = vec![0x5au8; 64 * 1024];
                    stream.write_all(&chunk).await.map_err(|e| e.to_string())?;
                    stream
                        .get_ref()
                        .0
                        .set_zero_linger()
                        .map_err(|e| e.to_string())?;
                    Ok(())
                }
            }
        };
        match tokio::time::timeout(settings.timeout, attempt).await {
            Ok(Ok(())) => {
                counters.hostile_closed.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err(err)) => counters.fail("hostile", err),
            Err(_) => counters.fail("hostile", format!("kind {kind} not closed in time")),
        }
    }
}

/// Sends `bytes` and closes the write side, then reads until the proxy
/// closes the connection.
async fn expect_close(settings: &LoadSettings, bytes: &[u8]) -> Result<(), String> {
    let mut tcp = TcpStream::connect((settings.target.host.as_str(), settings.target.port))
        .await
        .map_err(|err| format!("connect: {err}"))?;
    // The proxy may close before every byte is written.
    let _ = tcp.write_all(bytes).await;
    let _ = tcp.shutdown().await;
    let mut buffer = [0u8; 4096];
    loop {
        match tcp.read(&mut buffer).await {
            Ok(0) | Err(_) => return Ok(()),
            Ok(_) => {}
        }
    }
}

/// Returns the first flight of a real rustls client: its ClientHello.
fn client_hello(settings: &LoadSettings) -> Vec<u8> {
    let name = settings.target.server_name.clone();
    let mut hello = Vec::new();
    match ClientConnection::new(settings.tls.clone(), name) {
        Ok(mut conn) => {
            let _ = conn.write_tls(&mut hello);
        }
        Err(err) => tracing::warn!(error = %err, "cannot build a ClientHello"),
    }
    hello
}
