use std::fmt;

use mixer_tls::rustls::pki_types::ServerName;

/// A proxy address to connect to and the name its certificate must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or IP address, without brackets.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The name checked against the proxy's certificate.
    pub server_name: ServerName<'static>,
}

/// A `--connect` or `--server-name` value that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid address {input:?}: {problem}")]
pub struct TargetParseError {
    input: String,
    problem: String,
}

impl Target {
    /// Parses `HOST:PORT` (`[V6]:PORT` for IPv6). The server name defaults
    /// to the host.
    pub fn parse(input: &str, server_name: Option<&str>) -> Result<Self, TargetParseError> {
        let error = |problem: String| TargetParseError {
            input: input.to_string(),
            problem,
        };
        let (host, port) = input
            .trim()
            .rsplit_once(':')
            .ok_or_else(|| error("expected HOST:PORT, such as proxy:9000".to_string()))?;
        let port = match port.parse::<u16>() {
            Ok(port) if port != 0 => port,
            _ => {
                return Err(error(format!(
                    "port {port:?} is not a number from 1 to 65535"
                )))
            }
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(error("host is empty".to_string()));
        }

        let name = server_name.unwrap_or(host);
        let server_name = ServerName::try_from(name.to_string()).map_err(|_| {
            error(format!(
                "server name {name:?} is not a valid DNS name or IP address"
            ))
        })?;
        Ok(Self {
            host: host.to_string(),
            port,
            server_name,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_defaults_to_host() {
        let target = Target::parse("proxy:9000", None).unwrap();
        assert_eq!(target.host, "proxy");
        assert_eq!(target.port, 9000);
        assert_eq!(target.server_name.to_str(), "proxy");
    }

    #[test]
    fn explicit_server_name_wins() {
        let target = Target::parse("127.0.0.1:9001", Some("proxy")).unwrap();
        assert_eq!(target.host, "127.0.0.1");
        assert_eq!(target.server_name.to_str(), "proxy");
    }

    #[test]
    fn ipv6_host_in_brackets() {
        let target = Target::parse("[::1]:18510", None).unwrap();
        assert_eq!(target.host, "::1");
        assert_eq!(target.to_string(), "[::1]:18510");
    }

    #[test]
    fn rejects_bad_addresses() {
        for input in ["proxy", "proxy:0", "proxy:x", ":9000"] {
            let err = Target::parse(input, None).unwrap_err().to_string();
            assert!(err.contains(input), "{err}");
        }
    }
}
