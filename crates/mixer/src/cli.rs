use std::net::SocketAddr;

use mixer_runtime::LogFormat;

/// Stand-in mixer core: echoes every byte it receives on each port.
#[derive(Debug, Clone, clap::Parser)]
#[command(version)]
pub struct Args {
    /// Address to listen on; repeat the flag for several ports. Replaces the
    /// defaults when given.
    #[arg(
        long = "listen",
        value_name = "ADDR",
        env = "MIXER_LISTEN",
        value_delimiter = ',',
        default_values = ["0.0.0.0:9000", "0.0.0.0:9001", "0.0.0.0:18510"]
    )]
    pub listen: Vec<SocketAddr>,

    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}
