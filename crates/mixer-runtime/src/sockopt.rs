use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Idle time before the first TCP keepalive probe, then the interval between
/// probes. A peer that vanished without a FIN is found within about two
/// minutes instead of the kernel default of over two hours.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// Listen backlog: room for a burst of connects while the accept loop is busy.
const LISTEN_BACKLOG: u32 = 1024;

/// A listener that could not be bound, with its address.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {cause}")]
pub struct BindError {
    /// The address that was requested.
    pub addr: SocketAddr,
    /// The operating system's reason.
    pub cause: io::Error,
}

/// Binds a TCP listener with SO_REUSEADDR, so a restarted server can bind
/// while old connections sit in TIME_WAIT.
pub fn bind_listener(addr: SocketAddr) -> Result<TcpListener, BindError> {
    let bind = || -> io::Result<TcpListener> {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(LISTEN_BACKLOG)
    };
    bind().map_err(|cause| BindError { addr, cause })
}

/// Turns on TCP_NODELAY, because mixer traffic is small latency-bound
/// messages, and TCP keepalive, so dead peers are found. Failures are
/// logged and otherwise ignored: the connection works without them.
pub fn tune_stream(stream: &TcpStream) {
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(error = %err, "cannot set TCP_NODELAY");
    }
    let keepalive = TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL);
    if let Err(err) = SockRef::from(stream).set_tcp_keepalive(&keepalive) {
        tracing::debug!(error = %err, "cannot enable TCP keepalive");
    }
}
