use std::io;
use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;

/// Log lines written while the capture is alive, as plain text with fields.
///
/// The capture is the calling thread's default subscriber, so it receives
/// events only from tasks that run on that thread. Use it with the
/// current-thread runtime that `#[tokio::test]` starts by default.
#[derive(Debug)]
pub struct CapturedLogs {
    buffer: Arc<Mutex<Vec<u8>>>,
    _guard: DefaultGuard,
}

impl CapturedLogs {
    /// Returns everything logged so far.
    pub fn text(&self) -> String {
        let buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

/// Starts capturing log events at debug level and above on this thread.
pub fn capture_logs() -> CapturedLogs {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let writer_buffer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || SharedWriter(writer_buffer.clone()))
        .finish();
    CapturedLogs {
        buffer,
        _guard: tracing::subscriber::set_default(subscriber),
    }
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
