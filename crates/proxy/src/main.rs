use std::process::ExitCode;

use clap::Parser;

use proxy::cli::Args;

fn main() -> ExitCode {
    let args = Args::parse();
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
