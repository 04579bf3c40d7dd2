//! Command-line arguments: one subcommand per measurement, plus the plain
//! TCP backend that upload and download measurements need.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Load generator for mutual-TLS terminators in front of the mixer. Every
/// connection makes a full TLS 1.3 handshake (X25519, AES-128-GCM, no
/// resumption) with a client certificate.
#[derive(Debug, Clone, clap::Parser)]
#[command(version)]
pub struct Args {
    /// The measurement to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The measurements, and the backend server.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Opens connections in a closed loop, one full handshake and one small
    /// echo round trip each, and counts the completed ones.
    Handshakes(HandshakeArgs),
    /// Moves a pseudo-random byte stream and verifies every byte.
    Throughput(ThroughputArgs),
    /// Sends fixed-size messages at a fixed rate over one connection and
    /// records each echo's round-trip time.
    Latency(LatencyArgs),
    /// Opens many connections and keeps them idle.
    Idle(IdleArgs),
    /// Serves plain TCP for the upload and download directions: a sink
    /// that verifies what it receives, and a source that sends the stream.
    Backend(BackendArgs),
}

/// Options every measurement shares.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientArgs {
    /// The TLS server to measure, as IP:PORT.
    #[arg(long, value_name = "IP:PORT")]
    pub connect: SocketAddr,

    /// The DNS name the server's certificate must carry.
    #[arg(long, value_name = "NAME", default_value = "localhost")]
    pub server_name: String,

    /// The client certificate chain, leaf first (PEM or DER).
    #[arg(long, value_name = "FILE")]
    pub cert: PathBuf,

    /// The private key of the client certificate.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,

    /// CA certificates the server's certificate must chain to.
    #[arg(long, value_name = "FILE")]
    pub ca: PathBuf,

    /// How long to generate load, such as 10s or 500ms.
    #[arg(long, value_name = "DURATION", default_value = "10s",
          value_parser = humantime::parse_duration)]
    pub duration: Duration,

    /// Worker threads of the load generator's async runtime.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,

    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// A name for the server under test, copied into the results.
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
}

/// Options of the handshake measurement.
#[derive(Debug, Clone, clap::Args)]
pub struct HandshakeArgs {
    #[command(flatten)]
    pub client: ClientArgs,

    /// Connections in flight at once; each worker opens the next as soon as
    /// its previous one is closed.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub workers: usize,
}

/// The direction of the bytes in a throughput measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Client to server only; the server end must be a `backend` sink.
    Upload,
    /// Server to client only; the server end must be a `backend` source.
    Download,
    /// Both ways at once; the server end must echo, as the mixer does.
    Echo,
}

/// Options of the throughput measurement.
#[derive(Debug, Clone, clap::Args)]
pub struct ThroughputArgs {
    #[command(flatten)]
    pub client: ClientArgs,

    /// The direction of the bytes.
    #[arg(long, value_enum, default_value_t = Direction::Echo)]
    pub direction: Direction,

    /// Connections moving data at once.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub connections: usize,

    /// Bytes per write call; 16384 fills one TLS record.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024)]
    pub chunk_size: usize,
}

/// Options of the latency measurement.
#[derive(Debug, Clone, clap::Args)]
pub struct LatencyArgs {
    #[command(flatten)]
    pub client: ClientArgs,

    /// Messages sent per second.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub rate: u32,

    /// Bytes per message, at least 8 (the sequence number).
    #[arg(long, value_name = "BYTES", default_value_t = 64)]
    pub message_size: usize,
}

/// Options of the idle-connection measurement.
#[derive(Debug, Clone, clap::Args)]
pub struct IdleArgs {
    #[command(flatten)]
    pub client: ClientArgs,

    /// Connections to open and hold.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub connections: usize,

    /// Write the number of open connections to this file once all are
    /// open, so that a script can sample the server's memory while they
    /// are held. The hold time (--duration) starts then.
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
}

/// Options of the backend server.
#[derive(Debug, Clone, clap::Args)]
pub struct BackendArgs {
    /// Address of the sink, which verifies the byte stream it receives and
    /// reports the count when the client closes.
    #[arg(long, value_name = "IP:PORT")]
    pub sink: SocketAddr,

    /// Address of the source, which sends the byte stream until the client
    /// goes away.
    #[arg(long, value_name = "IP:PORT")]
    pub source: SocketAddr,
}
