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
    /// for every connection. Replaces the defaults when given. Options may
    /// follow, each after a semicolon, and override the global flag for this
    /// route: ;idle=DURATION (or ;idle=off) and ;max-connections=N, as in
    /// 0.0.0.0:9000=mixer:9000;idle=5m;max-connections=200.
    #[arg(
        long = "route",
        value_name = "LISTEN=UPSTREAM[;OPTIONS]",
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

    /// Certificate revocation list (PEM, may hold several, or one DER CRL);
    /// repeat the flag for more files. Each CRL must be issued by a CA in
    /// --client-ca, or the proxy does not start. Every certificate of the
    /// client's chain is checked; a certificate whose issuer has no CRL
    /// here is accepted. A CRL past its nextUpdate is still enforced and
    /// logged as a warning at load and every hour.
    #[arg(
        long = "crl",
        value_name = "FILE",
        env = "PROXY_CRL",
        value_delimiter = ','
    )]
    pub crls: Vec<PathBuf>,

    /// Admit only clients whose verified certificate matches a rule, given
    /// as [LISTEN=]KIND:PATTERN; repeat the flag for more rules. KIND is cn
    /// or ou (subject), dns or uri (subjectAltName), or spiffe (a SPIFFE
    /// trust domain: any spiffe://DOMAIN/... URI). In cn, ou and dns
    /// patterns '*' matches one label, in uri patterns one path segment.
    /// A rule prefixed with a route's listen address (as written in --route)
    /// applies to that route only, and a route with such rules ignores the
    /// unscoped ones. Without any rule for a route, every certificate from
    /// the client CA is admitted. A denied client gets an access_denied
    /// alert, and the log names its identity and the allowlist. Example:
    /// --allow spiffe:studio.example --allow 0.0.0.0:9001=cn:*.desk
    #[arg(
        long = "allow",
        value_name = "[LISTEN=]KIND:PATTERN",
        env = "PROXY_ALLOW",
        value_delimiter = ','
    )]
    pub allow: Vec<String>,

    /// Lowest TLS version accepted: 1.2 or 1.3. Nothing older than TLS 1.2
    /// is ever accepted.
    #[arg(long, value_name = "VERSION", env = "PROXY_MIN_TLS", default_value = "1.2",
          value_parser = ["1.2", "1.3"])]
    pub min_tls: String,

    /// Warn at every load when a certificate (own chain or client CA)
    /// expires within this time, such as 30d.
    #[arg(long, value_name = "DURATION", env = "PROXY_EXPIRY_WARNING",
          default_value = "30d", value_parser = humantime::parse_duration)]
    pub expiry_warning: Duration,

    /// After a watched TLS file changes, wait until no further change has
    /// come for this long before reloading, such as 500ms. A reload that
    /// fails, as with a certificate written before its key, is retried
    /// after the same wait, up to five attempts in all.
    #[arg(long, value_name = "DURATION", env = "PROXY_RELOAD_DEBOUNCE",
          default_value = "500ms", value_parser = humantime::parse_duration)]
    pub reload_debounce: Duration,

    /// Time a client gets to complete the TLS handshake, such as 10s or 500ms.
    #[arg(long, value_name = "DURATION", env = "PROXY_HANDSHAKE_TIMEOUT",
          default_value = "10s", value_parser = humantime::parse_duration)]
    pub handshake_timeout: Duration,

    /// Time allowed to connect to the upstream, such as 5s.
    #[arg(long, value_name = "DURATION", env = "PROXY_CONNECT_TIMEOUT",
          default_value = "5s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,

    /// After SIGTERM or SIGINT the proxy stops accepting at once; open
    /// connections then get this long to finish, such as 30s. The rest are
    /// closed, the "proxy stopped" log line counts both, and the process
    /// exits with status 0. A second signal exits at once with status 130.
    #[arg(long, value_name = "DURATION", env = "PROXY_DRAIN_TIMEOUT",
          default_value = "30s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,

    /// Close a connection when neither side has sent a byte for this long,
    /// such as 10m [default: no idle timeout]. A route's ;idle= option
    /// overrides it.
    #[arg(long, value_name = "DURATION", env = "PROXY_IDLE_TIMEOUT",
          value_parser = humantime::parse_duration)]
    pub idle_timeout: Option<Duration>,

    /// Maximum open connections over all routes. A connection beyond it is
    /// closed right after accept, before any TLS work, and counted in a
    /// "connection rejected" log line (at most one per second per route).
    /// Connections are never queued, and open ones are never closed for it.
    #[arg(long, value_name = "N", env = "PROXY_MAX_CONNECTIONS",
          default_value_t = crate::limits::DEFAULT_MAX_CONNECTIONS,
          value_parser = clap::value_parser!(usize))]
    pub max_connections: usize,

    /// Maximum open connections on each route, rejected the same way
    /// [default: only --max-connections applies]. A route's
    /// ;max-connections= option overrides it.
    #[arg(long, value_name = "N", env = "PROXY_MAX_CONNECTIONS_PER_ROUTE")]
    pub max_connections_per_route: Option<usize>,

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
    /// Sends GET /readyz to a running proxy's admin endpoint. Exits 0 when it
    /// returns 200 within 2 seconds, 1 otherwise.
    Healthcheck {
        /// Admin endpoint as HOST:PORT; 0.0.0.0 and [::] mean loopback.
        #[arg(long, value_name = "HOST:PORT", env = "PROXY_ADMIN_LISTEN")]
        admin: Option<String>,
    },
}
