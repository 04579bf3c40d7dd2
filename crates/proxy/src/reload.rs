//! Reloading the TLS files of a running proxy: on SIGHUP, and when a
//! watched file changes on disk.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mixer_tls::ServerTlsFiles;
use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio_util::sync::CancellationToken;

use crate::tls::{TlsLoadError, TlsState};

/// Attempts after a change whose files do not load yet, such as a
/// certificate written before its key. Each waits one debounce interval.
const MAX_ATTEMPTS: u32 = 5;

/// A handle that loads the TLS files again and swaps the new material in
/// for new handshakes. Open connections keep the material they started with.
#[derive(Debug, Clone)]
pub struct TlsReloader {
    state: Arc<TlsState>,
}

impl TlsReloader {
    pub(crate) fn new(state: Arc<TlsState>) -> Self {
        Self { state }
    }

    /// Loads every file again. On error nothing is swapped, the old
    /// material stays in use, and the error names the file at fault.
    pub fn reload(&self) -> Result<(), TlsLoadError> {
        self.state.reload()
    }

    /// Reloads and logs the outcome; `trigger` names the cause in the log.
    fn reload_logged(&self, trigger: &str, final_attempt: bool) -> bool {
        match self.reload() {
            Ok(()) => {
                tracing::info!(trigger, "TLS material reloaded");
                true
            }
            Err(err) if final_attempt => {
                tracing::error!(
                    trigger,
                    error = %err,
                    "TLS reload failed; keeping the previous material"
                );
                false
            }
            Err(err) => {
                tracing::warn!(
                    trigger,
                    error = %err,
                    "TLS reload failed; retrying in case a file is still being written"
                );
                false
            }
        }
    }
}

/// Reloads the TLS files on every SIGHUP until `stop` is cancelled.
pub(crate) fn reload_on_sighup(
    reloader: TlsReloader,
    stop: CancellationToken,
) -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};

    let mut hangup = signal(SignalKind::hangup())?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                received = hangup.recv() => {
                    if received.is_none() {
                        return;
                    }
                }
                () = stop.cancelled() => return,
            }
            reloader.reload_logged("SIGHUP", true);
        }
    });
    Ok(())
}

/// A watch on the directories of every TLS file, started before the
/// proxy serves so that no change between start-up and serving is missed.
///
/// Directories are watched, not the files, so that a file replaced by an
/// atomic rename and a Kubernetes volume that swaps its `..data` symlink
/// are seen as well as an in-place write.
#[derive(Debug)]
pub(crate) struct FileWatch {
    watcher: notify::RecommendedWatcher,
    changes: UnboundedReceiver<()>,
}

impl FileWatch {
    /// Starts watching the directories of `files`.
    pub(crate) fn start(files: &ServerTlsFiles) -> notify::Result<Self> {
        let paths: Vec<&Path> = [&files.cert, &files.key, &files.client_ca]
            .into_iter()
            .chain(&files.crls)
            .map(PathBuf::as_path)
            .collect();
        let names: BTreeSet<OsString> = paths
            .iter()
            .filter_map(|p| p.file_name().map(OsString::from))
            .collect();
        let dirs: BTreeSet<PathBuf> = paths.iter().map(|p| parent_dir(p)).collect();

        let (sender, changes) = unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |result: notify::Result<Event>| {
            if let Ok(event) = result {
                if is_change(&event.kind) && event.paths.iter().any(|p| is_relevant(p, &names)) {
                    // The receiver is gone only after shutdown.
                    let _ = sender.send(());
                }
            }
        })?;
        for dir in &dirs {
            watcher.watch(dir, RecursiveMode::NonRecursive)?;
            tracing::info!(dir = %dir.display(), "watching TLS files for changes");
        }
        Ok(Self { watcher, changes })
    }

    /// Reloads after each burst of changes, once no further change has
    /// come for `debounce`, until `stop` is cancelled.
    pub(crate) async fn run(
        self,
        reloader: TlsReloader,
        debounce: Duration,
        stop: CancellationToken,
    ) {
        // The watch ends when the watcher is dropped, so it lives here.
        let Self {
            watcher: _watcher,
            mut changes,
        } = self;
        loop {
            tokio::select! {
                change = changes.recv() => {
                    if change.is_none() {
                        return;
                    }
                }
                () = stop.cancelled() => return,
            }

            for attempt in 1..=MAX_ATTEMPTS {
                settle(&mut changes, debounce).await;
                if reloader.reload_logged("file change", attempt == MAX_ATTEMPTS) {
                    break;
                }
            }
        }
    }
}

/// Waits until `debounce` has passed without a further change.
async fn settle(changes: &mut UnboundedReceiver<()>, debounce: Duration) {
    while let Ok(Some(())) = tokio::time::timeout(debounce, changes.recv()).await {}
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes, creations, renames and removals count; opens and reads, which
/// the reload itself causes, do not.
fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

/// Returns whether `path` is a watched file or a Kubernetes volume entry
/// such as `..data`.
fn is_relevant(path: &Path, names: &BTreeSet<OsString>) -> bool {
    path.file_name()
        .is_some_and(|name| names.contains(name) || name.to_string_lossy().starts_with(".."))
}
