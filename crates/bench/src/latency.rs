//! Paced ping-pong: one message per time slot over one connection, each
//! echo awaited before the next message, round-trip times in a histogram.
//!
//! A dedicated thread with blocking sockets does the pacing, because the
//! async runtime's timers tick in whole milliseconds and would send
//! messages in bursts at rates above 1000 per second.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use hdrhistogram::Histogram;

use crate::client::Target;
use crate::pattern::Pattern;
use crate::report::LatencyStats;

/// Bytes at the start of each message that carry its sequence number.
const SEQUENCE_LEN: usize = 8;

/// Largest message: one full TLS record.
const MAX_MESSAGE: usize = 16 * 1024;

/// Slowest round trip the histogram can store, in nanoseconds. It is
/// longer than the socket timeout, so no echoed message reaches it.
const MAX_RECORDED_NS: u64 = 60_000_000_000;

/// Sends `rate` messages of `message_size` bytes per second for `duration`.
pub fn run(
    target: &Target,
    rate: u32,
    message_size: usize,
    duration: Duration,
) -> anyhow::Result<LatencyStats> {
    if rate == 0 {
        bail!("--rate must be at least 1 message per second");
    }
    if !(SEQUENCE_LEN..=MAX_MESSAGE).contains(&message_size) {
        bail!("--message-size {message_size} is out of range; use {SEQUENCE_LEN} to {MAX_MESSAGE} bytes");
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, MAX_RECORDED_NS, 3)
        .context("cannot create the latency histogram")?;
    let mut stream = target
        .connect_blocking()
        .with_context(|| format!("cannot connect to {}", target.addr))?;

    let pattern = Pattern::shared();
    let interval_ns = 1_000_000_000 / u64::from(rate);
    let mut message = vec![0u8; message_size];
    let mut echoed = vec![0u8; message_size];
    let mut late_sends = 0u64;
    let start = Instant::now();
    let end = start + duration;

    for sequence in 0u64.. {
        let slot = start + Duration::from_nanos(interval_ns * sequence);
        if slot >= end {
            break;
        }
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        } else if now - slot > Duration::from_nanos(interval_ns) {
            late_sends += 1;
        }

        pattern.fill(sequence * message_size as u64, &mut message);
        message[..SEQUENCE_LEN].copy_from_slice(&sequence.to_le_bytes());
        let sent_at = Instant::now();
        stream
            .write_all(&message)
            .and_then(|()| stream.flush())
            .with_context(|| format!("cannot send message {sequence}"))?;
        stream
            .read_exact(&mut echoed)
            .with_context(|| format!("no echo for message {sequence}"))?;
        let round_trip = sent_at.elapsed();

        if echoed != message {
            bail!("the echo of message {sequence} differs from the message");
        }
        let nanos = u64::try_from(round_trip.as_nanos()).unwrap_or(u64::MAX);
        histogram.saturating_record(nanos.clamp(1, MAX_RECORDED_NS));
    }

    stream.conn.send_close_notify();
    let _ = stream.flush();

    let micros = |nanos: u64| nanos as f64 / 1000.0;
    Ok(LatencyStats {
        rate,
        message_size,
        messages: histogram.len(),
        late_sends,
        p50_us: micros(histogram.value_at_quantile(0.50)),
        p99_us: micros(histogram.value_at_quantile(0.99)),
        p999_us: micros(histogram.value_at_quantile(0.999)),
        max_us: micros(histogram.max()),
        mean_us: histogram.mean() / 1000.0,
    })
}
