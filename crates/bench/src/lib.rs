//! `mixer-bench`: a load generator for mutual-TLS terminators in front of
//! the mixer, used to compare the proxy with other servers on one machine.
//!
//! Every measurement ends by itself after its duration and yields a
//! [`Report`]. This crate counts the work done. The figures per unit of
//! work, such as CPU time per handshake, come from sampling the server
//! process before and after a run.

pub mod backend;
pub mod cli;
mod client;
mod handshakes;
mod idle;
mod latency;
mod pattern;
mod report;
mod throughput;

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

pub use crate::cli::{Args, Command};
pub use crate::client::Target;
pub use crate::report::{
    HandshakeStats, IdleStats, LatencyStats, ModeResult, Report, ThroughputStats,
};

/// Runs the command. A measurement prints its table, writes its JSON if
/// requested, and fails if the run produced no usable figure. The backend
/// serves until SIGTERM or SIGINT.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Command::Backend(backend) = &args.command {
        return run_backend(backend);
    }

    let report = measure(&args.command)?;
    print!("{}", report.table());
    if let Some(path) = client_args(&args.command).and_then(|c| c.json.as_ref()) {
        report.write_json(path)?;
    }
    report.check()
}

/// Runs one measurement and returns its report.
pub fn measure(command: &Command) -> anyhow::Result<Report> {
    let Some(client) = client_args(command) else {
        anyhow::bail!("the backend is a server, not a measurement");
    };
    let target = Arc::new(Target::new(client)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(client.threads.max(1))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;

    let started = Instant::now();
    let result = match command {
        Command::Handshakes(args) => ModeResult::Handshakes(runtime.block_on(handshakes::run(
            target.clone(),
            args.workers,
            client.duration,
        ))),
        Command::Throughput(args) => ModeResult::Throughput(runtime.block_on(throughput::run(
            target.clone(),
            args.direction,
            args.connections,
            args.chunk_size,
            client.duration,
        ))),
        Command::Latency(args) => ModeResult::Latency(latency::run(
            &target,
            args.rate,
            args.message_size,
            client.duration,
        )?),
        Command::Idle(args) => ModeResult::Idle(runtime.block_on(idle::run(
            target.clone(),
            args.connections,
            client.duration,
            args.ready_file.as_deref(),
        ))?),
        Command::Backend(_) => unreachable!("handled above"),
    };
    let elapsed_s = started.elapsed().as_secs_f64();

    let mut report = Report {
        label: client.label.clone(),
        target: client.connect.to_string(),
        elapsed_s,
        result,
    };
    report.fill_rates();
    Ok(report)
}

fn client_args(command: &Command) -> Option<&cli::ClientArgs> {
    match command {
        Command::Handshakes(args) => Some(&args.client),
        Command::Throughput(args) => Some(&args.client),
        Command::Latency(args) => Some(&args.client),
        Command::Idle(args) => Some(&args.client),
        Command::Backend(_) => None,
    }
}

fn run_backend(args: &cli::BackendArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let sink = mixer_runtime::bind_listener(args.sink)?;
        let source = mixer_runtime::bind_listener(args.source)?;
        let shutdown =
            mixer_runtime::cancel_on_shutdown_signal().context("cannot install signal handlers")?;
        backend::run(sink, source, shutdown).await;
        Ok(())
    })
}
