//! Reloading the TLS files of a running proxy.

use std::sync::Arc;

use mixer_tls::ConfigError;

use crate::tls::TlsState;

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
    pub fn reload(&self) -> Result<(), ConfigError> {
        self.state.reload()
    }
}
