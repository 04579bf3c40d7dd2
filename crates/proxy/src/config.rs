//! The validated proxy configuration, built from command-line arguments.

use std::collections::HashSet;
use std::time::Duration;

use mixer_tls::{ServerTlsFiles, TlsVersion};

use crate::cli::Args;
use crate::policy::{AllowParseError, AllowRule};
use crate::route::{Route, RouteParseError};

/// Everything the proxy needs to run, checked for consistency.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Listener and upstream pairs; listen addresses are unique.
    pub routes: Vec<Route>,
    /// Certificate, key, client CA and CRL files.
    pub tls_files: ServerTlsFiles,
    /// Time a client gets to complete the handshake.
    pub handshake_timeout: Duration,
    /// Time allowed to connect to an upstream.
    pub connect_timeout: Duration,
    /// Time open connections get to finish after a shutdown signal.
    pub drain_timeout: Duration,
    /// Quiet time after which a connection is closed; `None` is no limit.
    pub idle_timeout: Option<Duration>,
    /// Maximum open connections over all routes.
    pub max_connections: usize,
    /// Maximum open connections per route, unless a route sets its own.
    pub max_connections_per_route: Option<usize>,
    /// Access rules on client certificates, scoped or global.
    pub allow: Vec<AllowRule>,
    /// Lowest TLS version accepted.
    pub min_tls: TlsVersion,
    /// Certificates expiring within this time are warned about.
    pub expiry_warning: Duration,
    /// Quiet time after a file change before the reload.
    pub reload_debounce: Duration,
}

/// A command line that does not form a valid configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A route did not parse.
    #[error(transparent)]
    Route(#[from] RouteParseError),
    /// An `--allow` value did not parse.
    #[error(transparent)]
    Allow(#[from] AllowParseError),
    /// An `--allow` rule names a listen address no route has.
    #[error(
        "--allow {rule}: no --route listens on {scope}; use a listen address as written in --route"
    )]
    UnknownScope {
        rule: String,
        scope: std::net::SocketAddr,
    },
    /// Two routes listen on one address.
    #[error("listen address {0} appears in more than one route; give each route its own port")]
    DuplicateListen(std::net::SocketAddr),
    /// No route at all.
    #[error("no route given; pass --route LISTEN=UPSTREAM at least once")]
    NoRoutes,
    /// A timeout of zero would fail every connection.
    #[error("--{flag} must be greater than zero")]
    ZeroTimeout { flag: &'static str },
    /// A connection limit of zero would reject every connection.
    #[error("--{flag} must be at least 1")]
    ZeroLimit { flag: &'static str },
}

impl ProxyConfig {
    /// Validates parsed arguments.
    pub fn from_args(args: &Args) -> Result<Self, ConfigError> {
        let routes = args
            .routes
            .iter()
            .map(|text| text.parse::<Route>())
            .collect::<Result<Vec<_>, _>>()?;
        if routes.is_empty() {
            return Err(ConfigError::NoRoutes);
        }
        let mut seen = HashSet::new();
        for route in &routes {
            // Port 0 requests a fresh port from the kernel, so it never collides.
            if route.listen.port() != 0 && !seen.insert(route.listen) {
                return Err(ConfigError::DuplicateListen(route.listen));
            }
        }

        for (flag, value) in [
            ("handshake-timeout", args.handshake_timeout),
            ("connect-timeout", args.connect_timeout),
            ("reload-debounce", args.reload_debounce),
        ] {
            if value.is_zero() {
                return Err(ConfigError::ZeroTimeout { flag });
            }
        }
        if args.idle_timeout.is_some_and(|idle| idle.is_zero()) {
            return Err(ConfigError::ZeroTimeout {
                flag: "idle-timeout",
            });
        }
        if args.max_connections == 0 {
            return Err(ConfigError::ZeroLimit {
                flag: "max-connections",
            });
        }
        if args.max_connections_per_route == Some(0) {
            return Err(ConfigError::ZeroLimit {
                flag: "max-connections-per-route",
            });
        }

        let allow = args
            .allow
            .iter()
            .map(|text| text.parse::<AllowRule>())
            .collect::<Result<Vec<_>, _>>()?;
        for rule in &allow {
            if let Some(scope) = rule.scope {
                if !routes.iter().any(|route| route.listen == scope) {
                    return Err(ConfigError::UnknownScope {
                        rule: rule.to_string(),
                        scope,
                    });
                }
            }
        }
        let min_tls = match args.min_tls.as_str() {
            "1.3" => TlsVersion::Tls13,
            _ => TlsVersion::Tls12,
        };

        Ok(Self {
            routes,
            tls_files: ServerTlsFiles {
                cert: args.cert.clone(),
                key: args.key.clone(),
                client_ca: args.client_ca.clone(),
                crls: args.crls.clone(),
            },
            handshake_timeout: args.handshake_timeout,
            connect_timeout: args.connect_timeout,
            drain_timeout: args.drain_timeout,
            idle_timeout: args.idle_timeout,
            max_connections: args.max_connections,
            max_connections_per_route: args.max_connections_per_route,
            allow,
            min_tls,
            expiry_warning: args.expiry_warning,
            reload_debounce: args.reload_debounce,
        })
    }
}
