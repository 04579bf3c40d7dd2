use std::process::ExitCode;

use clap::Parser;

use proxy::cli::{Args, Command};

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::Healthcheck { admin }) = &args.command {
        return healthcheck(admin.as_deref());
    }
    mixer_runtime::init_logging(args.log_format);
    mixer_runtime::raise_fd_limit();

    let runtime = match proxy::build_runtime(args.worker_threads) {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(proxy::serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the `healthcheck` subcommand on a small runtime of its own, so it
/// starts fast and does not spawn a worker per core.
fn healthcheck(admin: Option<&str>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("healthcheck failed: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(mixer_runtime::admin::healthcheck(
        admin,
        "PROXY_ADMIN_LISTEN",
    ))
}
