use std::path::PathBuf;
use std::time::Duration;

use mixer_runtime::LogFormat;

/// Mutual-TLS terminator for the mixer: requires and verifies a client
/// certificate on every connection, then forwards plain TCP to the upstream.
#[derive(Debug, Clone, clap::Parser)]
#[command(version)]
pub struct Args {
    /// Route as LISTEN=UPSTREAM, for example 0.0.0.0:9000=mixer:9000; repeat
    /// the flag for several routes. The upstream host name is resolved again
    /// for every connection. Replaces the defaults when given.
    #[arg(
        long = "route",
        value_name = "LISTEN=UPSTREAM",
        env = "PROXY_ROUTES",
        value_delimiter = ',',
        default_values = [
            "0.0.0.0:9000=mixer:9000",
            "0.0.0.0:9001=mixer:9001",
            "0.0.0.0:18510=mixer:18510",
        ]
    )]
    pub routes: Vec<String>,

    /// The proxy's certificate chain, leaf first (PEM or DER).
    #[arg(
        long,
        value_name = "FILE",
        env = "PROXY_CERT",
        default_value = "certs/proxy.crt"
    )]
    pub cert: PathBuf,

    /// The private key of the proxy's certificate (PKCS#1, PKCS#8 or SEC1;
    /// PEM or DER; unencrypted).
    #[arg(
        long,
        value_name = "FILE",
        env = "PROXY_KEY",
        default_value = "certs/proxy.key"
    )]
    pub key: PathBuf,

    /// CA certificates that client certificates must chain to (PEM bundle or
    /// one DER certificate).
    #[arg(
        long,
        value_name = "FILE",
        env = "PROXY_CLIENT_CA",
        default_value = "certs/ca.crt"
    )]
    pub client_ca: PathBuf,

    /// Time a client gets to complete the TLS handshake, such as 10s or 500ms.
    #[arg(long, value_name = "DURATION", env = "PROXY_HANDSHAKE_TIMEOUT",
          default_value = "10s", value_parser = humantime::parse_duration)]
    pub handshake_timeout: Duration,

    /// Time allowed to connect to the upstream, such as 5s.
    #[arg(long, value_name = "DURATION", env = "PROXY_CONNECT_TIMEOUT",
          default_value = "5s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,

    /// After SIGTERM or SIGINT, time open connections get to finish before
    /// they are closed, such as 30s.
    #[arg(long, value_name = "DURATION", env = "PROXY_DRAIN_TIMEOUT",
          default_value = "30s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,

    /// Worker threads of the async runtime [default: one per CPU core].
    #[arg(long, value_name = "N", env = "PROXY_WORKER_THREADS")]
    pub worker_threads: Option<usize>,

    /// Log line format.
    #[arg(long, value_enum, env = "PROXY_LOG_FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Address for the admin endpoint (/healthz, /readyz, /metrics) as
    /// HOST:PORT; a host name is resolved once at start [default: off].
    #[arg(long, value_name = "HOST:PORT", env = "PROXY_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,

    /// Runs a subcommand instead of the proxy.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What the binary does instead of proxying.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Asks a running proxy's admin endpoint for GET /readyz; exits 0 when
    /// it answers 200 within 2 seconds, 1 otherwise.
    Healthcheck {
        /// Admin endpoint as HOST:PORT; 0.0.0.0 and [::] mean loopback.
        #[arg(long, value_name = "HOST:PORT", env = "PROXY_ADMIN_LISTEN")]
        admin: Option<String>,
    },
}
