use std::io;
use std::net::SocketAddr;

/// An admin address that does not resolve to a socket address.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    /// The name lookup failed or the text is not `HOST:PORT`.
    #[error("cannot resolve admin address {addr:?}: {source}; expected HOST:PORT, such as 127.0.0.1:9100")]
    Resolve {
        /// The address as given.
        addr: String,
        /// The resolver's reason.
        #[source]
        source: io::Error,
    },
    /// The name resolved to no address at all.
    #[error("admin address {addr:?} resolved to no IP address")]
    NoAddress {
        /// The address as given.
        addr: String,
    },
}

/// Resolves `HOST:PORT` (`[V6]:PORT` for IPv6) once and returns the first
/// address the resolver lists.
pub async fn resolve_admin_addr(text: &str) -> Result<SocketAddr, AddressError> {
    let mut addrs =
        tokio::net::lookup_host(text)
            .await
            .map_err(|source| AddressError::Resolve {
                addr: text.to_string(),
                source,
            })?;
    addrs.next().ok_or_else(|| AddressError::NoAddress {
        addr: text.to_string(),
    })
}
