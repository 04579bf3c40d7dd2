//! The service: a mutual-TLS client of the mixer, reaching it through the
//! proxy. Its default mode checks echo round trips on every port.

pub mod cli;
mod connect;
pub mod metrics;
mod probe;
mod target;

use std::process::ExitCode;

use std::sync::Arc;

use anyhow::Context;
use mixer_runtime::admin::{start_admin, Readiness};

pub use connect::connect_tls;
pub use probe::{run_probe, run_probe_observed, ProbeReport, ProbeSettings};
pub use target::{Target, TargetParseError};

use crate::cli::Args;
use crate::metrics::ServiceMetrics;

/// Runs the mode the arguments select and maps its result to an exit code.
/// The admin endpoint, when configured, reports ready once the
/// configuration is loaded and the probe is running.
pub async fn serve(args: Args) -> anyhow::Result<ExitCode> {
    let metrics = Arc::new(ServiceMetrics::new());
    let readiness = Readiness::new();
    start_admin(
        args.admin_listen.as_deref(),
        metrics.registry(),
        readiness.clone(),
    )
    .await?;

    let targets = args
        .connect
        .iter()
        .map(|text| Target::parse(text, args.server_name.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    let tls = mixer_tls::client_config(&mixer_tls::ClientTlsFiles {
        cert: args.cert.clone(),
        key: args.key.clone(),
        ca: args.ca.clone(),
    })?;
    let shutdown =
        mixer_runtime::cancel_on_shutdown_signal().context("cannot install signal handlers")?;

    let settings = ProbeSettings {
        targets,
        interval: args.interval,
        rounds: args.count,
        timeout: args.timeout,
        message_size: args.message_size as usize,
    };
    readiness.set_ready();
    let report = run_probe_observed(&settings, tls, shutdown, metrics).await;
    readiness.set_not_ready();
    Ok(if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
