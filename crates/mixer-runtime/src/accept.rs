use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};

/// Pause after an accept error that is not about one connection, when no
/// connection could be rejected instead. Running out of memory does not
/// clear on the next call, and retrying at once would spin a core.
const RESOURCE_BACKOFF: Duration = Duration::from_millis(100);

/// Minimum time between two warnings about resource shortages. Failures in
/// between are counted and reported with the next warning.
const WARN_INTERVAL: Duration = Duration::from_secs(5);

/// One descriptor kept in reserve for rejecting connections at the open
/// file limit. On EMFILE it is closed, the waiting connection is accepted
/// into the freed slot and closed at once, and the spare is opened again.
/// So the client sees its connection closed instead of waiting in the
/// backlog, and the loop does not spin on a connection it cannot take.
static SPARE_FD: LazyLock<Mutex<Option<File>>> = LazyLock::new(|| Mutex::new(open_spare()));

static SHORTAGE_LOG: Mutex<ShortageLog> = Mutex::new(ShortageLog::new());

/// Accepts the next connection. Errors never end the accept loop. A failure
/// that belongs to a single connection is skipped. At the open file limit
/// the waiting connection is rejected (closed at once), and any other
/// shortage is retried after a short pause. Shortages are logged at most
/// once per [`WARN_INTERVAL`].
pub async fn accept_with_backoff(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    // The spare must exist before descriptors run out.
    LazyLock::force(&SPARE_FD);
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(err) if is_per_connection(&err) => {
                tracing::debug!(error = %err, "accept failed for one connection");
            }
            Err(err) => {
                let rejected = is_fd_exhaustion(&err) && reject_one(listener);
                lock(&SHORTAGE_LOG).record(&err, rejected);
                if !rejected {
                    tokio::time::sleep(RESOURCE_BACKOFF).await;
                }
            }
        }
    }
}

fn is_per_connection(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// EMFILE (the process limit) or ENFILE (the system limit).
fn is_fd_exhaustion(err: &io::Error) -> bool {
    const EMFILE: i32 = 24;
    const ENFILE: i32 = 23;
    matches!(err.raw_os_error(), Some(EMFILE | ENFILE))
}

/// Frees the spare descriptor, accepts one waiting connection into it and
/// closes that connection. Returns false when there was no spare or no
/// connection could be taken.
fn reject_one(listener: &TcpListener) -> bool {
    let mut spare = lock(&SPARE_FD);
    let Some(file) = spare.take() else {
        // A reopen failed earlier. Try again, since descriptors may be free now.
        *spare = open_spare();
        return false;
    };
    drop(file);

    // A single non-blocking attempt: the connection that caused EMFILE is
    // normally still queued. The no-op waker is fine because the caller
    // polls accept again with its own waker right after.
    let mut cx = Context::from_waker(Waker::noop());
    let rejected = match listener.poll_accept(&mut cx) {
        Poll::Ready(Ok((stream, client))) => {
            tracing::debug!(client.addr = %client, "connection rejected at the open file limit");
            drop(stream);
            true
        }
        Poll::Ready(Err(_)) | Poll::Pending => false,
    };
    *spare = open_spare();
    rejected
}

fn open_spare() -> Option<File> {
    File::open("/dev/null").ok()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Counts accept failures from resource shortages between two warnings.
struct ShortageLog {
    last_warning: Option<Instant>,
    failures: u64,
    rejected: u64,
}

impl ShortageLog {
    const fn new() -> Self {
        Self {
            last_warning: None,
            failures: 0,
            rejected: 0,
        }
    }

    fn record(&mut self, err: &io::Error, rejected: bool) {
        self.failures += 1;
        self.rejected += u64::from(rejected);
        let due = self
            .last_warning
            .is_none_or(|last| last.elapsed() >= WARN_INTERVAL);
        if !due {
            return;
        }
        tracing::warn!(
            error = %err,
            failures = self.failures,
            rejected = self.rejected,
            interval_s = WARN_INTERVAL.as_secs(),
            "accept failed for lack of resources; connections are rejected or wait \
             until descriptors or memory free up"
        );
        self.last_warning = Some(Instant::now());
        self.failures = 0;
        self.rejected = 0;
    }
}
