//! Routes: which TLS listener forwards to which upstream.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use crate::limits::RouteOptions;

/// A host name or address and a port to forward to. The host is resolved at
/// each connection, so an upstream that restarts with a new address is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// A DNS name or an IP address, without brackets.
    pub host: String,
    /// The TCP port.
    pub port: u16,
}

/// One TLS listener and the upstream its connections are forwarded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Where the proxy accepts TLS connections.
    pub listen: SocketAddr,
    /// Where decrypted bytes go.
    pub upstream: Upstream,
    /// Limits written after the route, such as `;idle=30s`.
    pub options: RouteOptions,
}

/// A route or upstream string that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid route {input:?}: {problem}; expected LISTEN=UPSTREAM[;idle=DURATION][;max-connections=N], \
     such as 0.0.0.0:9000=mixer:9000;idle=5m"
)]
pub struct RouteParseError {
    input: String,
    problem: String,
}

impl RouteParseError {
    fn new(input: &str, problem: impl Into<String>) -> Self {
        Self {
            input: input.to_string(),
            problem: problem.into(),
        }
    }
}

impl FromStr for Route {
    type Err = RouteParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (trimmed, options) = match input.trim().split_once(';') {
            Some((route, options)) => (route, options),
            None => (input.trim(), ""),
        };
        let options = RouteOptions::parse(options).map_err(|p| RouteParseError::new(input, p))?;
        let Some((listen, upstream)) = trimmed.split_once('=') else {
            return Err(RouteParseError::new(input, "missing '='"));
        };
        let listen = listen.trim().parse::<SocketAddr>().map_err(|_| {
            RouteParseError::new(
                input,
                format!("listen address {listen:?} is not IP:PORT, such as 0.0.0.0:9000"),
            )
        })?;
        let upstream =
            parse_upstream(upstream.trim()).map_err(|p| RouteParseError::new(input, p))?;
        Ok(Route {
            listen,
            upstream,
            options,
        })
    }
}

fn parse_upstream(text: &str) -> Result<Upstream, String> {
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("upstream {text:?} has no port; use HOST:PORT"));
    };
    let port = match port.parse::<u16>() {
        Ok(port) if port != 0 => port,
        _ => {
            return Err(format!(
                "upstream port {port:?} is not a number from 1 to 65535"
            ))
        }
    };

    let host = match host.strip_prefix('[') {
        Some(bracketed) => bracketed
            .strip_suffix(']')
            .ok_or_else(|| format!("upstream host {host:?} has an unclosed '['"))?,
        None if host.contains(':') => {
            return Err(format!(
                "IPv6 upstream {host:?} must be in brackets, such as [::1]:9000"
            ));
        }
        None => host,
    };
    let valid_name = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':'));
    if host.is_empty() || !valid_name {
        return Err(format!(
            "upstream host {host:?} is not a host name or IP address"
        ));
    }
    Ok(Upstream {
        host: host.to_string(),
        port,
    })
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.listen, self.upstream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_upstream() {
        let route: Route = "0.0.0.0:9000=mixer:9000".parse().unwrap();
        assert_eq!(route.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(route.upstream.host, "mixer");
        assert_eq!(route.upstream.port, 9000);
        assert_eq!(route.to_string(), "0.0.0.0:9000=mixer:9000");
    }

    #[test]
    fn parses_options_after_the_route() {
        let route: Route = "127.0.0.1:9000=mixer:9000;idle=30s;max-connections=8"
            .parse()
            .unwrap();
        assert_eq!(route.upstream.port, 9000);
        assert_eq!(route.options.max_connections, Some(8));
        assert_eq!(
            route.options.idle_timeout,
            Some(Some(std::time::Duration::from_secs(30)))
        );
        let plain: Route = "127.0.0.1:9000=mixer:9000".parse().unwrap();
        assert_eq!(plain.options, RouteOptions::default());
    }

    #[test]
    fn parses_ipv6_on_both_sides() {
        let route: Route = "[::1]:9001=[fd00::2]:19001".parse().unwrap();
        assert_eq!(route.listen, "[::1]:9001".parse().unwrap());
        assert_eq!(route.upstream.host, "fd00::2");
        assert_eq!(route.to_string(), "[::1]:9001=[fd00::2]:19001");
    }

    #[test]
    fn rejects_malformed_routes_with_the_value() {
        let cases = [
            ("0.0.0.0:9000", "missing '='"),
            ("mixer:9000=mixer:9000", "listen address"),
            ("0.0.0.0:9000=mixer", "has no port"),
            ("0.0.0.0:9000=mixer:0", "1 to 65535"),
            ("0.0.0.0:9000=mixer:99999", "1 to 65535"),
            ("0.0.0.0:9000=::1:9000", "must be in brackets"),
            ("0.0.0.0:9000=[::1:9000", "unclosed"),
            ("0.0.0.0:9000=:9000", "not a host name"),
            ("0.0.0.0:9000=mi xer:9000", "not a host name"),
            ("0.0.0.0:9000=mixer:9000;idle=never", "\"never\""),
            ("0.0.0.0:9000=mixer:9000;limit=3", "unknown route option"),
        ];
        for (input, expected) in cases {
            let err = input.parse::<Route>().unwrap_err().to_string();
            assert!(err.contains(expected), "{input}: {err}");
            assert!(err.contains(input), "{input}: {err}");
        }
    }
}
