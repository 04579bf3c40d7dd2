use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Pause between looks at the captured log while waiting for a line.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The log text of this test process, as plain text lines with span fields.
///
/// Every test in a binary writes into the same capture, so a test picks out
/// its own lines by a value only it has, such as its proxy's port.
#[derive(Debug, Clone)]
pub struct CapturedLogs {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl CapturedLogs {
    /// Returns every captured line that contains all of `needles`.
    pub fn lines_with(&self, needles: &[&str]) -> Vec<String> {
        let buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&buffer)
            .lines()
            .filter(|line| needles.iter().all(|needle| line.contains(needle)))
            .map(str::to_string)
            .collect()
    }

    /// Waits up to `timeout` for a line that contains all of `needles` and
    /// returns it. Panics if none appears, listing the lines that contain
    /// the last needle to show what was logged instead.
    pub async fn wait_for_line(&self, needles: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.lines_with(needles).into_iter().next() {
                return line;
            }
            if Instant::now() >= deadline {
                let last = needles.last().map_or(&[][..], std::slice::from_ref);
                panic!(
                    "no log line with {needles:?} within {timeout:?}; lines with {last:?}:\n{}",
                    self.lines_with(last).join("\n")
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// Returns the log capture of this process, installing it as the global
/// subscriber at debug level on the first call.
///
/// A global subscriber rather than a per-thread one, because tracing caches
/// per call site whether anyone listens, and that cache can miss a
/// per-thread subscriber that another test thread installs at the same time.
pub fn capture_logs() -> CapturedLogs {
    static CAPTURE: OnceLock<CapturedLogs> = OnceLock::new();
    CAPTURE
        .get_or_init(|| {
            let buffer = Arc::new(Mutex::new(Vec::new()));
            let writer_buffer = buffer.clone();
            let subscriber = tracing_subscriber::fmt()
                .with_max_level(tracing::Level::DEBUG)
                .with_ansi(false)
                .with_writer(move || SharedWriter(writer_buffer.clone()))
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global log subscriber in a test binary");
            CapturedLogs { buffer }
        })
        .clone()
}

struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl io::Write for SharedWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut buffer = self.0.lock().unwrap_or_else(|e| e.into_inner());
        buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
