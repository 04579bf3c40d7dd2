use std::net::SocketAddr;

use mixer_runtime::LogFormat;

/// Stand-in mixer core: echoes every byte it receives on each port.
#[derive(Debug, Clone, clap::Parser)]
#[command(version)]
pub struct Args {
    /// Address to listen on, as IP:PORT (such as 0.0.0.0:9000); repeat the
    /// flag for several ports. Replaces the defaults when given.
    #[arg(
        long = "listen",
        value_name = "ADDR",
        env = "MIXER_LISTEN",
        value_delimiter = ',',
        default_values = ["0.0.0.0:9000", "0.0.0.0:9001", "0.0.0.0:18510"]
    )]
    pub listen: Vec<SocketAddr>,

    /// Log line format.
    #[arg(long, value_enum, env = "MIXER_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Address for the admin endpoint (/healthz, /readyz, /metrics) as
    /// HOST:PORT; a host name is resolved once at start [default: off].
    #[arg(long, value_name = "HOST:PORT", env = "MIXER_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,

    /// Runs a subcommand instead of the server.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the binary does instead of serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Sends GET /readyz to a running mixer's admin endpoint. Exits 0 when it
    /// returns 200 within 2 seconds, 1 otherwise.
    Healthcheck {
        /// Admin endpoint as HOST:PORT; 0.0.0.0 and [::] mean loopback.
        #[arg(long, value_name = "HOST:PORT", env = "MIXER_ADMIN_LISTEN")]
        admin: Option<String>,
    },
}
