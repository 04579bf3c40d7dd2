use clap::Parser;

use mixer::cli::{Args, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if let Some(Command::Healthcheck { admin }) = &args.command {
        return mixer_runtime::admin::healthcheck(admin.as_deref(), "MIXER_ADMIN_LISTEN").await;
    }
    mixer_runtime::init_logging(args.log_format);

    match mixer::serve(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
