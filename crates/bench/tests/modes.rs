//! Every measurement against an in-process proxy in front of the mixer and
//! the plain TCP backend, over real TLS on 127.0.0.1. Durations are short
//! and only counts are checked, never timings.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bench::{Args, ModeResult, Report};
use certgen::{Authority, LeafSpec, Usage};
use clap::Parser;
use proxy::config::ProxyConfig;
use tokio_util::sync::CancellationToken;

/// Mixer, backend and proxy running on a runtime of their own, with the
/// client's certificate files in a temporary directory.
struct Stack {
    _dir: tempfile::TempDir,
    files: PathBuf,
    echo: SocketAddr,
    sink: SocketAddr,
    source: SocketAddr,
    shutdown: CancellationToken,
    _runtime: tokio::runtime::Runtime,
}

impl Stack {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let files = dir.path().to_path_buf();
        write_certificates(&files);

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let shutdown = CancellationToken::new();
        let (echo, sink, source) = runtime.block_on(start_servers(&files, shutdown.clone()));
        Self {
            _dir: dir,
            files,
            echo,
            sink,
            source,
            shutdown,
            _runtime: runtime,
        }
    }

    /// Builds a command line for `mode` against `target`, with the client
    /// files and `extra` options.
    fn args(&self, mode: &str, target: SocketAddr, extra: &[&str]) -> Args {
        self.args_with_client(mode, target, "client", extra)
    }

    fn args_with_client(
        &self,
        mode: &str,
        target: SocketAddr,
        client: &str,
        extra: &[&str],
    ) -> Args {
        let path = |name: &str| self.files.join(name).display().to_string();
        let mut line = vec![
            "mixer-bench".to_string(),
            mode.to_string(),
            "--connect".to_string(),
            target.to_string(),
            "--cert".to_string(),
            path(&format!("{client}.crt")),
            "--key".to_string(),
            path(&format!("{client}.key")),
            "--ca".to_string(),
            path("ca.crt"),
        ];
        line.extend(extra.iter().map(|s| s.to_string()));
        Args::try_parse_from(line).unwrap()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn write_certificates(dir: &Path) {
    let ca = Authority::new_root("bench test CA", 2).unwrap();
    let mut server = LeafSpec::new("proxy", Usage::Server, 1);
    server.dns_names.push("localhost".to_string());
    let server = ca.issue(&server).unwrap();
    let client = ca.issue(&LeafSpec::new("bench", Usage::Client, 1)).unwrap();

    let stranger_ca = Authority::new_root("unrelated CA", 2).unwrap();
    let stranger = stranger_ca
        .issue(&LeafSpec::new("stranger", Usage::Client, 1))
        .unwrap();

    std::fs::write(dir.join("ca.crt"), ca.cert_pem()).unwrap();
    for (name, issued) in [
        ("proxy", &server),
        ("client", &client),
        ("stranger", &stranger),
    ] {
        std::fs::write(dir.join(format!("{name}.crt")), &issued.cert_pem).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), &issued.key_pem).unwrap();
    }
}

/// Starts the mixer, the backend and a proxy with one route to each of the
/// three; returns the proxy's echo, sink and source addresses.
async fn start_servers(
    dir: &Path,
    shutdown: CancellationToken,
) -> (SocketAddr, SocketAddr, SocketAddr) {
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mixer = mixer_runtime::bind_listener(loopback).unwrap();
    let sink = mixer_runtime::bind_listener(loopback).unwrap();
    let source = mixer_runtime::bind_listener(loopback).unwrap();
    let upstreams = [&mixer, &sink, &source].map(|l| l.local_addr().unwrap());
    tokio::spawn(mixer::run(vec![mixer], shutdown.clone()));
    tokio::spawn(bench::backend::run(sink, source, shutdown.clone()));

    let mut argv = vec![
        "proxy".to_string(),
        format!("--cert={}", dir.join("proxy.crt").display()),
        format!("--key={}", dir.join("proxy.key").display()),
        format!("--client-ca={}", dir.join("ca.crt").display()),
        "--handshake-timeout=5s".to_string(),
        "--connect-timeout=5s".to_string(),
        "--drain-timeout=1s".to_string(),
    ];
    for upstream in &upstreams {
        argv.push(format!("--route=127.0.0.1:0={upstream}"));
    }
    let proxy_args = proxy::cli::Args::try_parse_from(argv).unwrap();
    let config = ProxyConfig::from_args(&proxy_args).unwrap();
    let proxy = proxy::Proxy::bind(config).unwrap();
    let listening = proxy.local_addrs();
    tokio::spawn(proxy.run(shutdown));
    (listening[0], listening[1], listening[2])
}

fn measure(args: &Args) -> Report {
    bench::measure(&args.command).unwrap()
}

#[test]
fn handshakes_complete_and_are_counted() {
    let stack = Stack::start();
    let args = stack.args(
        "handshakes",
        stack.echo,
        &["--duration", "500ms", "--workers", "2", "--label", "proxy"],
    );
    let report = measure(&args);

    let ModeResult::Handshakes(stats) = &report.result else {
        panic!("expected handshake figures, got {report:?}");
    };
    assert!(stats.completed > 0, "{stats:?}");
    assert_eq!(stats.failed, 0, "{stats:?}");
    assert_eq!(stats.workers, 2);
    assert!(report.check().is_ok());

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["mode"], "handshakes");
    assert_eq!(json["label"], "proxy");
    assert_eq!(json["completed"], stats.completed);
}

#[test]
fn handshakes_with_untrusted_client_all_fail() {
    let stack = Stack::start();
    let args = stack.args_with_client(
        "handshakes",
        stack.echo,
        "stranger",
        &["--duration", "300ms", "--workers", "1"],
    );
    let report = measure(&args);

    let ModeResult::Handshakes(stats) = &report.result else {
        panic!("expected handshake figures, got {report:?}");
    };
    assert_eq!(stats.completed, 0, "{stats:?}");
    assert!(stats.failed > 0, "{stats:?}");
    assert!(stats.first_error.is_some());
    assert!(report.check().is_err());
}

#[test]
fn echo_throughput_returns_every_byte() {
    let stack = Stack::start();
    let args = stack.args(
        "throughput",
        stack.echo,
        &["--duration", "300ms", "--connections", "2"],
    );
    let report = measure(&args);

    let ModeResult::Throughput(stats) = &report.result else {
        panic!("expected throughput figures, got {report:?}");
    };
    assert_eq!(stats.failed_connections, 0, "{stats:?}");
    assert!(stats.bytes_sent > 0, "{stats:?}");
    assert_eq!(stats.bytes_received, stats.bytes_sent);
    assert_eq!(stats.bytes_moved, 2 * stats.bytes_sent);
    assert!(report.check().is_ok());
}

#[test]
fn upload_is_verified_by_sink() {
    let stack = Stack::start();
    let args = stack.args(
        "throughput",
        stack.sink,
        &[
            "--duration",
            "300ms",
            "--direction",
            "upload",
            "--chunk-size",
            "1000",
        ],
    );
    let report = measure(&args);

    let ModeResult::Throughput(stats) = &report.result else {
        panic!("expected throughput figures, got {report:?}");
    };
    assert_eq!(stats.failed_connections, 0, "{stats:?}");
    assert!(stats.bytes_sent > 0, "{stats:?}");
    assert_eq!(stats.bytes_received, 0);
    assert_eq!(stats.bytes_moved, stats.bytes_sent);
}

#[test]
fn upload_to_echo_server_fails_verification() {
    let stack = Stack::start();
    let args = stack.args(
        "throughput",
        stack.echo,
        &["--duration", "200ms", "--direction", "upload"],
    );
    let report = measure(&args);

    let ModeResult::Throughput(stats) = &report.result else {
        panic!("expected throughput figures, got {report:?}");
    };
    assert_eq!(stats.failed_connections, 1, "{stats:?}");
    let error = stats.first_error.as_deref().unwrap_or_default();
    assert!(error.contains("more than the sink's reply"), "{error}");
    assert!(report.check().is_err());
}

#[test]
fn download_from_source_is_verified() {
    let stack = Stack::start();
    let args = stack.args(
        "throughput",
        stack.source,
        &["--duration", "300ms", "--direction", "download"],
    );
    let report = measure(&args);

    let ModeResult::Throughput(stats) = &report.result else {
        panic!("expected throughput figures, got {report:?}");
    };
    assert_eq!(stats.failed_connections, 0, "{stats:?}");
    assert!(stats.bytes_received > 0, "{stats:?}");
    assert_eq!(stats.bytes_sent, 0);
    assert_eq!(stats.bytes_moved, stats.bytes_received);
}

#[test]
fn latency_sends_one_message_per_slot() {
    let stack = Stack::start();
    // 200 messages per second for 300 ms is 60 slots, and every slot sends
    // one message even when it starts late.
    let args = stack.args(
        "latency",
        stack.echo,
        &[
            "--duration",
            "300ms",
            "--rate",
            "200",
            "--message-size",
            "64",
        ],
    );
    let report = measure(&args);

    let ModeResult::Latency(stats) = &report.result else {
        panic!("expected latency figures, got {report:?}");
    };
    assert_eq!(stats.messages, 60, "{stats:?}");
    assert!(stats.p50_us > 0.0, "{stats:?}");
    assert!(stats.p50_us <= stats.p99_us, "{stats:?}");
    assert!(stats.p99_us <= stats.p999_us, "{stats:?}");
    assert!(stats.p999_us <= stats.max_us, "{stats:?}");
}

#[test]
fn latency_rejects_message_shorter_than_sequence() {
    let stack = Stack::start();
    let args = stack.args("latency", stack.echo, &["--message-size", "4"]);
    let err = bench::measure(&args.command).unwrap_err().to_string();
    assert!(err.contains("--message-size 4"), "{err}");
}

#[test]
fn idle_holds_every_connection_and_signals_ready() {
    let stack = Stack::start();
    let ready = stack.files.join("ready");
    let ready_arg = ready.display().to_string();
    let args = stack.args(
        "idle",
        stack.echo,
        &[
            "--duration",
            "200ms",
            "--connections",
            "20",
            "--ready-file",
            &ready_arg,
        ],
    );
    let report = measure(&args);

    let ModeResult::Idle(stats) = &report.result else {
        panic!("expected idle figures, got {report:?}");
    };
    assert_eq!(stats.requested, 20);
    assert_eq!(stats.established, 20, "{stats:?}");
    assert_eq!(stats.failed, 0, "{stats:?}");
    assert_eq!(std::fs::read_to_string(&ready).unwrap().trim(), "20");
}

#[test]
fn client_negotiates_fixed_suite_without_resumption() {
    use mixer_tls::rustls::{CipherSuite, HandshakeKind, NamedGroup, ProtocolVersion};

    let stack = Stack::start();
    let args = stack.args("latency", stack.echo, &[]);
    let bench::Command::Latency(latency) = &args.command else {
        panic!("expected the latency command");
    };
    let target = bench::Target::new(&latency.client).unwrap();

    for attempt in 0..2 {
        let stream = target.connect_blocking().unwrap();
        let conn = &stream.conn;
        assert_eq!(conn.protocol_version(), Some(ProtocolVersion::TLSv1_3));
        let suite = conn.negotiated_cipher_suite().unwrap().suite();
        assert_eq!(suite, CipherSuite::TLS13_AES_128_GCM_SHA256);
        let group = conn.negotiated_key_exchange_group().unwrap().name();
        assert_eq!(group, NamedGroup::X25519);
        assert_eq!(
            conn.handshake_kind(),
            Some(HandshakeKind::Full),
            "attempt {attempt}"
        );
    }
}

#[test]
fn download_from_echo_server_moves_nothing() {
    let stack = Stack::start();
    let args = stack.args(
        "throughput",
        stack.echo,
        &["--duration", "200ms", "--direction", "download"],
    );
    let report = measure(&args);

    let ModeResult::Throughput(stats) = &report.result else {
        panic!("expected throughput figures, got {report:?}");
    };
    assert_eq!(stats.bytes_moved, 0, "{stats:?}");
    let error = report.check().unwrap_err().to_string();
    assert!(error.contains("no byte moved"), "{error}");
}
