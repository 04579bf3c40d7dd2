use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::{header, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::address::{resolve_admin_addr, AddressError};

/// Time the whole check may take: name lookup, connect, request and
/// response. A container runtime treats a hung check as failed anyway.
pub const HEALTHCHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the admin endpoint did not confirm readiness.
#[derive(Debug, thiserror::Error)]
pub enum HealthcheckError {
    /// Neither the flag nor the environment variable gave an address.
    #[error("no admin address; set {env} or pass --admin HOST:PORT")]
    NoAddress {
        /// The environment variable that was read.
        env: &'static str,
    },
    /// The address did not resolve.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// Nothing accepted the TCP connection.
    #[error("cannot connect to the admin endpoint at {addr}: {cause}")]
    Connect {
        /// The address tried.
        addr: SocketAddr,
        /// The operating system's reason.
        cause: io::Error,
    },
    /// The HTTP exchange failed.
    #[error("HTTP request to http://{addr}/readyz failed: {cause}")]
    Http {
        /// The address tried.
        addr: SocketAddr,
        /// The HTTP client's reason.
        cause: hyper::Error,
    },
    /// The endpoint returned a status other than 200.
    #[error("http://{addr}/readyz returned {status}")]
    NotReady {
        /// The address tried.
        addr: SocketAddr,
        /// The status received.
        status: StatusCode,
    },
    /// The check did not finish within [`HEALTHCHECK_TIMEOUT`].
    #[error("timed out after {}s waiting for http://{addr}/readyz", HEALTHCHECK_TIMEOUT.as_secs())]
    Timeout {
        /// The address as given.
        addr: String,
    },
}

/// Runs the `healthcheck` subcommand: sends `GET /readyz` at `admin` and
/// returns exit status 0 on 200. Any other result prints one line with the
/// reason to standard error and returns 1. `env` names the variable `admin`
/// came
/// from, for the message when it is unset.
pub async fn healthcheck(admin: Option<&str>, env: &'static str) -> ExitCode {
    let result = match admin {
        Some(addr) => check_ready(addr).await,
        None => Err(HealthcheckError::NoAddress { env }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("healthcheck failed: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Returns `Ok` when `GET /readyz` at `addr` returns 200 within
/// [`HEALTHCHECK_TIMEOUT`]. An unspecified IP (`0.0.0.0`, `::`), as a
/// listen address often is, is replaced by the loopback address.
pub async fn check_ready(addr: &str) -> Result<(), HealthcheckError> {
    match tokio::time::timeout(HEALTHCHECK_TIMEOUT, request_readyz(addr)).await {
        Ok(result) => result,
        Err(_) => Err(HealthcheckError::Timeout {
            addr: addr.to_string(),
        }),
    }
}

async fn request_readyz(text: &str) -> Result<(), HealthcheckError> {
    let addr = loopback_if_unspecified(resolve_admin_addr(text).await?);
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|cause| HealthcheckError::Connect { addr, cause })?;
    let http_error = |cause| HealthcheckError::Http { addr, cause };

    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(http_error)?;
    let driver = tokio::spawn(connection);

    let request = Request::get("/readyz")
        .header(header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())
        .expect("a GET with a static path and a socket-address Host header is valid");
    let status = sender
        .send_request(request)
        .await
        .map_err(http_error)?
        .status();
    driver.abort();

    if status == StatusCode::OK {
        Ok(())
    } else {
        Err(HealthcheckError::NotReady { addr, status })
    }
}

fn loopback_if_unspecified(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_addresses_become_loopback() {
        let cases = [
            ("0.0.0.0:9100", "127.0.0.1:9100"),
            ("[::]:9100", "[::1]:9100"),
            ("10.0.0.5:9100", "10.0.0.5:9100"),
        ];
        for (input, expected) in cases {
            let addr: SocketAddr = input.parse().unwrap();
            assert_eq!(loopback_if_unspecified(addr).to_string(), expected);
        }
    }
}
