//! The proxy binary under a low open file limit (`ulimit -n 64`): it warns
//! at start-up, rejects connections it has no descriptor for without
//! spinning, and serves again once descriptors are free.

mod fault_kit;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fault_kit::{connect_tls, echo_round_trip, make_pki, RunningMixer, PROMPT};
use tokio::net::TcpStream;

const FD_LIMIT: u32 = 64;

/// Connections held open, more than the limit leaves room for.
const HELD_CONNECTIONS: usize = 80;

/// How long CPU time is measured while the proxy is saturated, and the CPU
/// time allowed in that window. A loop that retried accept without pause
/// would use most of a core.
const SATURATED_WINDOW: Duration = Duration::from_secs(3);
const SATURATED_CPU_MAX: Duration = Duration::from_millis(300);

/// Log lines from the proxy's standard error, read on a thread.
struct ProxyProcess {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl ProxyProcess {
    /// Waits up to `limit` for a line containing `needle`, and returns it.
    fn wait_for_line(&mut self, needle: &str, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return Some(line);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Collects the lines logged so far.
    fn drain_lines(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
    }

    /// User plus system CPU time, from /proc/PID/stat.
    fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // Fields after the command name, which is in parentheses.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_millis(ticks * 1000 / clock_ticks_per_second())
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clock_ticks_per_second() -> u64 {
    let output = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn spawn_proxy(pki: &fault_kit::Pki, upstream: SocketAddr) -> ProxyProcess {
    let dir = &pki.dir;
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {FD_LIMIT} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_proxy"))
        .arg("--route")
        .arg(format!("127.0.0.1:0={upstream}"))
        .arg("--cert")
        .arg(dir.join("proxy.crt"))
        .arg("--key")
        .arg(dir.join("proxy.key"))
        .arg("--client-ca")
        .arg(dir.join("ca.crt"))
        .args(["--handshake-timeout", "60s", "--worker-threads", "1"])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the proxy binary");

    let stderr = child.stderr.take().unwrap();
    let (sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    ProxyProcess {
        child,
        lines,
        seen: Vec::new(),
    }
}

fn listen_addr(line: &str) -> SocketAddr {
    let value = line
        .split_whitespace()
        .find_map(|field| field.strip_prefix("listen.addr="))
        .unwrap_or_else(|| panic!("no listen.addr in {line:?}"));
    value.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_at_fd_limit_rejects_then_recovers() {
    let pki = make_pki();
    let mixer = RunningMixer::start(fault_kit::loopback_any());
    let mut proxy = spawn_proxy(&pki, mixer.addr);

    let listening = proxy
        .wait_for_line("route listening", Duration::from_secs(20))
        .expect("proxy starts under the low limit");
    let addr = listen_addr(&listening);
    proxy.wait_for_line("proxy ready", PROMPT).unwrap();
    let warning = proxy
        .seen
        .iter()
        .find(|line| line.contains("RLIMIT_NOFILE"))
        .cloned()
        .unwrap_or_else(|| panic!("no open file limit warning in {:?}", proxy.seen));
    assert!(warning.contains(&format!("limit={FD_LIMIT}")), "{warning}");

    // Hold more idle connections than the proxy has descriptors for. Those
    // it cannot take are rejected; the rest wait for a ClientHello.
    let mut held = Vec::with_capacity(HELD_CONNECTIONS);
    for _ in 0..HELD_CONNECTIONS {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    proxy
        .wait_for_line("accept failed for lack of resources", PROMPT)
        .expect("the proxy reaches its open file limit");

    // Saturated: CPU time stays low, and a new client is rejected at once
    // instead of hanging.
    let cpu_before = proxy.cpu_time();
    let attempt = tokio::time::timeout(PROMPT, connect_tls(addr, &pki)).await;
    let attempt = attempt.expect("a client at the limit is answered promptly");
    assert!(
        attempt.is_err(),
        "handshake succeeded with no descriptor left"
    );
    tokio::time::sleep(SATURATED_WINDOW).await;
    let cpu_used = proxy.cpu_time() - cpu_before;
    assert!(
        cpu_used < SATURATED_CPU_MAX,
        "proxy used {cpu_used:?} of CPU in {SATURATED_WINDOW:?} at the limit"
    );
    proxy.drain_lines();
    let warnings = proxy
        .seen
        .iter()
        .filter(|line| line.contains("accept failed for lack of resources"))
        .count();
    assert!(
        warnings <= 2,
        "{warnings} accept warnings, expected rate-limited"
    );

    // Once the idle connections close, honest clients are served again.
    drop(held);
    let mut served = Err("no attempt".to_string());
    for _ in 0..20 {
        served = match connect_tls(addr, &pki).await {
            Ok(stream) => echo_round_trip(stream, 1 << 20, 20).await,
            Err(err) => Err(err.to_string()),
        };
        if served.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    served.expect("proxy serves again after connections close");
    mixer.stop().await;
}
