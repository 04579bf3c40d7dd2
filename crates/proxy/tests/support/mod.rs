//! Shared pieces of the proxy tests: certificates made in a temp dir, an
//! echo upstream, an in-process proxy, and TLS clients.

#![allow(dead_code)]

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use certgen::{Authority, Issued, LeafSpec, Usage};
use clap::Parser;
use mixer_tls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use mixer_tls::rustls::{self, ClientConfig, RootCertStore};
use proxy::cli::Args;
use proxy::config::ProxyConfig;
use proxy::{DrainReport, Proxy};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;

/// Upper bound for any single step a test waits on.
pub const STEP: Duration = Duration::from_secs(10);

/// A root CA, the proxy's certificate and key, written to a temp dir.
pub struct Pki {
    pub dir: TempDir,
    pub root: Authority,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Pki {
    /// Creates a root CA and a proxy certificate for `localhost` and
    /// 127.0.0.1 signed by it.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = Authority::new_root("Test Root CA", 30).expect("root CA");
        let ca = write(dir.path(), "ca.crt", &root.cert_pem());
        let server = root.issue(&server_spec()).expect("server cert");
        let cert = write(dir.path(), "proxy.crt", &server.cert_pem);
        let key = write(dir.path(), "proxy.key", &server.key_pem);
        Self {
            dir,
            root,
            ca,
            cert,
            key,
        }
    }

    /// Writes `contents` to `name` in the temp dir and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        write(self.dir.path(), name, contents)
    }

    /// Returns the flags that point the proxy at this PKI.
    pub fn tls_args(&self) -> Vec<String> {
        vec![
            "--cert".into(),
            self.cert.display().to_string(),
            "--key".into(),
            self.key.display().to_string(),
            "--client-ca".into(),
            self.ca.display().to_string(),
        ]
    }

    /// Issues a client certificate with common name `cn` from the root.
    pub fn client(&self, cn: &str) -> Issued {
        self.root
            .issue(&LeafSpec::new(cn, Usage::Client, 30))
            .expect("client cert")
    }

    /// Builds a client config that trusts the root and presents `issued`.
    pub fn client_config(&self, issued: &Issued) -> Arc<ClientConfig> {
        client_config_with_chain(
            &self.root.cert_der(),
            vec![issued.cert_der.clone()],
            &issued.key_pem,
            &[&rustls::version::TLS13, &rustls::version::TLS12],
        )
    }
}

/// Returns the spec of a proxy certificate valid for `localhost` and
/// 127.0.0.1.
pub fn server_spec() -> LeafSpec {
    let mut spec = LeafSpec::new("proxy", Usage::Server, 30);
    spec.dns_names.push("localhost".into());
    spec.ip_addresses.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    spec
}

/// Writes a file and returns its path.
pub fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write test file");
    path
}

/// Builds a client config that trusts `root_der` and presents `chain`
/// (leaf first) with the PKCS#8 key `key_pem`, limited to `versions`.
pub fn client_config_with_chain(
    root_der: &[u8],
    chain: Vec<Vec<u8>>,
    key_pem: &str,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    use rustls::pki_types::pem::PemObject;

    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(root_der.to_vec()))
        .expect("root");
    let chain = chain.into_iter().map(CertificateDer::from).collect();
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).expect("key");
    let config = ClientConfig::builder_with_provider(mixer_tls::crypto_provider())
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .expect("client cert");
    Arc::new(config)
}

/// An in-process proxy and the token that stops it.
pub struct RunningProxy {
    pub addrs: Vec<SocketAddr>,
    pub shutdown: CancellationToken,
    pub task: JoinHandle<DrainReport>,
}

impl RunningProxy {
    /// Parses `args` as the command line, binds and runs the proxy.
    pub fn start(args: &[String]) -> Self {
        let mut argv = vec!["proxy".to_string()];
        argv.extend(args.iter().cloned());
        let args = Args::try_parse_from(argv).expect("valid arguments");
        let config = ProxyConfig::from_args(&args).expect("valid config");
        let proxy = Proxy::bind(config).expect("proxy binds");
        let addrs = proxy.local_addrs();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(proxy.run(shutdown.clone()));
        Self {
            addrs,
            shutdown,
            task,
        }
    }

    /// Returns the listen address of the first route.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Cancels the shutdown token and waits for the drain report.
    pub async fn stop(self) -> DrainReport {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(60), self.task)
            .await
            .expect("proxy stops within a minute")
            .expect("proxy task")
    }
}

/// Route flags forwarding a port-0 listener to `upstream`.
pub fn route_to(upstream: SocketAddr) -> Vec<String> {
    vec!["--route".into(), format!("127.0.0.1:0={upstream}")]
}

/// Starts an echo server on loopback. Every byte is sent back, and after a
/// FIN from the peer the server sends its own FIN once the echo is written.
pub async fn echo_upstream() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
    let addr = listener.local_addr().expect("echo addr");
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let (mut read, mut write) = stream.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
                let _ = write.shutdown().await;
            });
        }
    });
    (addr, task)
}

/// Connects to `addr` and completes the client side of the handshake.
pub async fn connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").expect("server name");
    tokio::time::timeout(STEP, TlsConnector::from(config).connect(name, tcp))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "handshake timed out"))?
}

/// Sends `payload`, half-closes, and returns everything read back.
pub async fn echo_round_trip(
    stream: &mut TlsStream<TcpStream>,
    payload: &[u8],
) -> io::Result<Vec<u8>> {
    let work = async {
        stream.write_all(payload).await?;
        stream.shutdown().await?;
        let mut back = Vec::new();
        stream.read_to_end(&mut back).await?;
        Ok(back)
    };
    tokio::time::timeout(STEP, work)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "echo timed out"))?
}

/// Connects, echoes a short message and checks it came back unchanged.
pub async fn assert_echo_works(addr: SocketAddr, config: Arc<ClientConfig>) {
    let mut stream = connect(addr, config).await.expect("handshake succeeds");
    let back = echo_round_trip(&mut stream, b"ping").await.expect("echo");
    assert_eq!(back, b"ping");
}

/// Connects and returns the TLS alert the proxy sent, if the connection
/// failed with one. With TLS 1.3 the client finishes its side of the
/// handshake before the server has checked the client certificate, so the
/// alert arrives on the first read.
pub async fn rejection_alert(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> Option<rustls::AlertDescription> {
    let error = match connect(addr, config).await {
        Err(err) => err,
        Ok(mut stream) => {
            let _ = stream.write_all(b"ping").await;
            let mut buf = [0u8; 16];
            match tokio::time::timeout(STEP, stream.read(&mut buf)).await {
                Ok(Err(err)) => err,
                Ok(Ok(n)) => panic!("connection was accepted and read {n} bytes"),
                Err(_) => panic!("no answer from the proxy within {STEP:?}"),
            }
        }
    };
    match error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::AlertReceived(alert)) => Some(*alert),
        _ => None,
    }
}

/// Returns whether the TCP connect to `addr` was refused.
pub async fn connect_refused(addr: SocketAddr) -> bool {
    matches!(
        TcpStream::connect(addr).await,
        Err(err) if err.kind() == io::ErrorKind::ConnectionRefused
    )
}

/// A `proxy` binary started as a child process, with its log lines read
/// on a background thread so the pipe never fills.
pub struct ProxyProcess {
    pub child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl ProxyProcess {
    /// Starts the built binary with `args` and JSON logs on stderr.
    pub fn spawn(args: &[String]) -> Self {
        use std::io::BufRead;
        use std::process::{Command, Stdio};

        let mut child = Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args(args)
            .args(["--log-format", "json"])
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn proxy");
        let stderr = child.stderr.take().expect("stderr");
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits up to `timeout` for a log line containing every one of
    /// `parts`, and returns it.
    pub fn wait_for_line(&mut self, parts: &[&str], timeout: Duration) -> Option<String> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            let line = self.lines.recv_timeout(left).ok()?;
            self.seen.push(line.clone());
            if parts.iter().all(|part| line.contains(part)) {
                return Some(line);
            }
        }
    }

    /// Reads the listen address from the first "route listening" line.
    pub fn listen_addr(&mut self) -> SocketAddr {
        let line = self
            .wait_for_line(&["route listening"], STEP)
            .unwrap_or_else(|| panic!("no route line in {:?}", self.seen));
        let start = line.find("\"listen.addr\":\"").expect("listen.addr field") + 15;
        let end = line[start..].find('"').expect("end of field") + start;
        line[start..end].parse().expect("socket address")
    }

    /// Sends `signal` (such as TERM or HUP) to the child by its PID.
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits up to `timeout` for the child to exit and returns its status.
    pub fn wait(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("proxy did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        // Kills only this child, by its handle, if a test left it running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
