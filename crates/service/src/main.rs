use std::process::ExitCode;

use clap::Parser;

use service::cli::{Args, Command};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(Command::Healthcheck { admin }) = &args.command {
        return mixer_runtime::admin::healthcheck(admin.as_deref(), "SERVICE_ADMIN_LISTEN").await;
    }
    mixer_runtime::init_logging(args.log_format);

    match service::serve(args).await {
        Ok(code) => code,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::from(2)
        }
    }
}
