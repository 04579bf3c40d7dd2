use std::io::IsTerminal;

use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::EnvFilter;

use crate::json_log::FlatJson;

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines with `key=value` fields.
    #[default]
    Text,
    /// One JSON object per line, for log collectors: `timestamp`, `level`,
    /// `message`, then the fields of the connection's span and of the
    /// event, all at the top level.
    Json,
}

/// Installs the global tracing subscriber. `RUST_LOG` sets the filter, and
/// `info` applies when it is unset or invalid.
pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);

    // A second call, as in tests that start several servers, keeps the first.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .try_init(),
    };
}
