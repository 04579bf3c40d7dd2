//! The service: a mutual-TLS client of the mixer, reaching it through the
//! proxy. Its default mode checks echo round trips on every port.

pub mod cli;
mod connect;
mod probe;
mod target;

use std::process::ExitCode;

use anyhow::Context;

pub use connect::connect_tls;
pub use probe::{run_probe, ProbeReport, ProbeSettings};
pub use target::{Target, TargetParseError};

use crate::cli::Args;

/// Runs the mode the arguments select and maps its result to an exit code.
pub async fn serve(args: Args) -> anyhow::Result<ExitCode> {
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
    let report = run_probe(&settings, tls, shutdown).await;
    Ok(if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
