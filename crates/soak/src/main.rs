use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use soak::load::{run_load, Counters, LoadSettings};
use soak::sample::{growth, Sample, Tolerance};
use tokio_util::sync::CancellationToken;

/// Allowed growth from the first to the last quarter of the run. Memory
/// gets room for allocator and session-cache warm-up. Descriptors get room
/// for the churn connections that happen to be open at a sample. Threads
/// get room for Tokio's blocking pool, which starts and stops threads on
/// demand.
const RSS_TOLERANCE: Tolerance = Tolerance {
    relative: 0.25,
    absolute: 16.0 * 1024.0,
};
const FD_TOLERANCE: Tolerance = Tolerance {
    relative: 0.25,
    absolute: 16.0,
};
const THREAD_TOLERANCE: Tolerance = Tolerance {
    relative: 0.0,
    absolute: 4.0,
};

/// Keeps churn, bulk echo streams, hostile peers and idle links running
/// through the proxy for a fixed time. Samples the proxy's memory,
/// descriptors and threads, and fails on any byte that differs or any
/// resource that keeps growing.
#[derive(Debug, clap::Parser)]
#[command(version)]
struct Args {
    /// The proxy listener, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    connect: String,
    /// Name to check in the proxy's certificate [default: the host].
    #[arg(long, value_name = "NAME")]
    server_name: Option<String>,
    /// Client certificate (PEM or DER).
    #[arg(long, value_name = "FILE")]
    cert: PathBuf,
    /// Client private key.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// CA the proxy's certificate must chain to.
    #[arg(long, value_name = "FILE")]
    ca: PathBuf,
    /// How long to keep the load up, such as 90s or 10m.
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Process ID of the proxy, whose /proc entries are sampled.
    #[arg(long, value_name = "PID")]
    proxy_pid: u32,
    /// CSV file for the samples.
    #[arg(long, value_name = "FILE")]
    samples: PathBuf,
    /// Time at the start while idle links connect and buffers grow; samples
    /// taken then are written to the CSV file but not judged.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    warm_up: Duration,
    /// Time between two samples.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    sample_every: Duration,
    /// Workers doing connect, one small round trip, close.
    #[arg(long, default_value_t = 4)]
    churn_workers: usize,
    /// Workers running bulk echo transfers back to back.
    #[arg(long, default_value_t = 2)]
    bulk_streams: usize,
    /// Bytes per bulk transfer.
    #[arg(long, default_value_t = 32 << 20)]
    bulk_bytes: u64,
    /// Workers sending junk, truncated handshakes and resets in a loop.
    #[arg(long, default_value_t = 2)]
    hostile_workers: usize,
    /// Connections held open for the whole run.
    #[arg(long, default_value_t = 100)]
    idle_links: usize,
    /// Time between pings on each idle link.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    idle_ping_every: Duration,
}

fn main() -> ExitCode {
    let args = Args::parse();
    mixer_runtime::init_logging(mixer_runtime::LogFormat::Text);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("soak: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("soak: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the soak; returns whether it passed.
async fn run(args: Args) -> anyhow::Result<bool> {
    let target = service::Target::parse(&args.connect, args.server_name.as_deref())?;
    let tls = mixer_tls::client_config(&mixer_tls::ClientTlsFiles {
        cert: args.cert.clone(),
        key: args.key.clone(),
        ca: args.ca.clone(),
    })?;
    let settings = LoadSettings {
        target,
        tls,
        churn_workers: args.churn_workers,
        bulk_streams: args.bulk_streams,
        bulk_bytes: args.bulk_bytes,
        hostile_workers: args.hostile_workers,
        idle_links: args.idle_links,
        idle_ping_every: args.idle_ping_every,
        timeout: Duration::from_secs(10),
        bulk_timeout: Duration::from_secs(300),
    };

    let counters = Arc::new(Counters::default());
    let stop = CancellationToken::new();
    let started = Instant::now();
    let load = {
        let (counters, stop) = (counters.clone(), stop.clone());
        tokio::spawn(async move { run_load(&settings, &counters, &stop).await })
    };

    let samples = sample_until(&args, &counters, started).await?;
    stop.cancel();
    load.await.context("load workers panicked")?;

    let judged: Vec<Sample> = samples
        .into_iter()
        .filter(|sample| sample.elapsed >= args.warm_up)
        .collect();
    Ok(report(&judged, &counters, started.elapsed()))
}

/// Samples the proxy every `sample_every` until the duration is over,
/// writing each sample to the CSV file as it is taken.
async fn sample_until(
    args: &Args,
    counters: &Counters,
    started: Instant,
) -> anyhow::Result<Vec<Sample>> {
    let file = File::create(&args.samples)
        .with_context(|| format!("cannot create {}", args.samples.display()))?;
    let mut csv = BufWriter::new(file);
    writeln!(
        csv,
        "{},churn_ok,bulk_ok,idle_pings,hostile_closed,failures",
        Sample::CSV_HEADER
    )?;

    let mut samples = Vec::new();
    let mut ticker = tokio::time::interval(args.sample_every);
    while started.elapsed() < args.duration {
        ticker.tick().await;
        let sample = Sample::read(args.proxy_pid, started.elapsed())
            .with_context(|| format!("cannot sample process {}", args.proxy_pid))?;
        writeln!(
            csv,
            "{sample},{},{},{},{},{}",
            counters.churn_ok.load(Ordering::Relaxed),
            counters.bulk_ok.load(Ordering::Relaxed),
            counters.idle_pings.load(Ordering::Relaxed),
            counters.hostile_closed.load(Ordering::Relaxed),
            counters.failures.load(Ordering::Relaxed),
        )?;
        csv.flush()?;
        samples.push(sample);
    }
    Ok(samples)
}

/// Prints the counts and the growth verdict; returns whether the run passed.
fn report(samples: &[Sample], counters: &Counters, elapsed: Duration) -> bool {
    let failures = counters.failures.load(Ordering::Relaxed);
    println!("duration: {}", humantime::format_duration(round(elapsed)));
    println!(
        "churn round trips: {}",
        counters.churn_ok.load(Ordering::Relaxed)
    );
    println!(
        "bulk transfers (SHA-256 checked): {}",
        counters.bulk_ok.load(Ordering::Relaxed)
    );
    println!(
        "idle-link pings: {}",
        counters.idle_pings.load(Ordering::Relaxed)
    );
    println!(
        "hostile connections closed by the proxy: {}",
        counters.hostile_closed.load(Ordering::Relaxed)
    );
    println!("failures: {failures}");
    for message in counters.first_failures() {
        println!("  {message}");
    }

    let tolerances = [RSS_TOLERANCE, FD_TOLERANCE, THREAD_TOLERANCE];
    let Some(growths) = growth(samples, tolerances) else {
        println!(
            "resources: only {} samples after the warm-up, too few to judge growth; \
             run longer",
            samples.len()
        );
        return false;
    };
    let mut bounded = true;
    for item in &growths {
        println!("{item}");
        bounded &= item.is_bounded();
    }
    failures == 0 && bounded
}

fn round(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs())
}
