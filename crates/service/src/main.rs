use std::process::ExitCode;

use clap::Parser;

use service::cli::Args;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    mixer_runtime::init_logging(args.log_format);

    match service::serve(args).await {
        Ok(code) => code,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::from(2)
        }
    }
}
