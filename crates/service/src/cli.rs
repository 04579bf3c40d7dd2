use std::path::PathBuf;
use std::time::Duration;

use mixer_runtime::LogFormat;

/// Mutual-TLS client of the mixer. By default it sends a message on each
/// port every few seconds through the proxy, checks that the same bytes come
/// back, and logs the round-trip time.
#[derive(Debug, Clone, clap::Parser)]
#[command(version)]
pub struct Args {
    /// Proxy address as HOST:PORT; repeat the flag for several ports.
    /// Replaces the defaults when given.
    #[arg(
        long = "connect",
        value_name = "HOST:PORT",
        env = "SERVICE_CONNECT",
        value_delimiter = ',',
        default_values = ["proxy:9000", "proxy:9001", "proxy:18510"]
    )]
    pub connect: Vec<String>,

    /// Name the proxy's certificate must carry [default: the host part of
    /// each --connect address].
    #[arg(long, value_name = "NAME", env = "SERVICE_SERVER_NAME")]
    pub server_name: Option<String>,

    /// The service's certificate chain, leaf first (PEM or DER).
    #[arg(
        long,
        value_name = "FILE",
        env = "SERVICE_CERT",
        default_value = "certs/service.crt"
    )]
    pub cert: PathBuf,

    /// The private key of the service's certificate (PKCS#1, PKCS#8 or
    /// SEC1; PEM or DER; unencrypted).
    #[arg(
        long,
        value_name = "FILE",
        env = "SERVICE_KEY",
        default_value = "certs/service.key"
    )]
    pub key: PathBuf,

    /// CA certificates the proxy's certificate must chain to.
    #[arg(
        long,
        value_name = "FILE",
        env = "SERVICE_CA",
        default_value = "certs/ca.crt"
    )]
    pub ca: PathBuf,

    /// Pause between rounds, such as 2s or 500ms.
    #[arg(long, value_name = "DURATION", env = "SERVICE_INTERVAL",
          default_value = "3s", value_parser = humantime::parse_duration)]
    pub interval: Duration,

    /// Stop after N rounds and exit 0 only if every round trip succeeded
    /// [default: run until SIGTERM or SIGINT].
    #[arg(long, value_name = "N", env = "SERVICE_COUNT",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Time one connect, handshake or round trip may take, such as 5s.
    #[arg(long, value_name = "DURATION", env = "SERVICE_TIMEOUT",
          default_value = "5s", value_parser = parse_positive_duration)]
    pub timeout: Duration,

    /// Size of each message in bytes.
    #[arg(long, value_name = "BYTES", env = "SERVICE_MESSAGE_SIZE", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=16_777_216))]
    pub message_size: u32,

    /// Log line format.
    #[arg(long, value_enum, env = "SERVICE_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Address for the admin endpoint (/healthz, /readyz, /metrics) as
    /// HOST:PORT; a host name is resolved once at start [default: off].
    #[arg(long, value_name = "HOST:PORT", env = "SERVICE_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,

    /// Runs a subcommand instead of the probe.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the binary does instead of probing.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Sends GET /readyz to a running service's admin endpoint. Exits 0 when it
    /// returns 200 within 2 seconds, 1 otherwise.
    Healthcheck {
        /// Admin endpoint as HOST:PORT; 0.0.0.0 and [::] mean loopback.
        #[arg(long, value_name = "HOST:PORT", env = "SERVICE_ADMIN_LISTEN")]
        admin: Option<String>,
    },
}

/// Parses a duration such as `5s` and rejects zero, which would fail every
/// round trip.
fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|err| err.to_string())?;
    if duration.is_zero() {
        return Err("must be greater than zero, such as 5s".to_string());
    }
    Ok(duration)
}
