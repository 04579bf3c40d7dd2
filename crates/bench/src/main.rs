use std::process::ExitCode;

use clap::Parser;

use bench::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    mixer_runtime::init_logging(mixer_runtime::LogFormat::Text);

    match bench::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mixer-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}
