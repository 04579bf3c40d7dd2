//! Helpers for the integration tests: certificates made with
//! [`certgen::Authority`] in a temporary folder, a mixer and a proxy running
//! in the test's own runtime, TLS clients, and bounded runs of external
//! programs such as the built binaries and `openssl`.
//!
//! Helpers panic with a message that names what failed, because a test
//! cannot go on without them.

mod certs;
mod client;
mod logs;
mod process;
mod servers;

pub use certs::{client_spec, server_spec, CertSet};
pub use client::{
    client_config, client_config_without_certificate, connect, connect_as, expect_rejection,
    IO_TIMEOUT,
};
pub use logs::{capture_logs, CapturedLogs};
pub use process::{openssl, run_with_timeout};
pub use servers::{
    proxy_config, start_counting_echo, start_mixer, start_proxy, start_proxy_with, start_stack,
    CountingEcho, Running, Stack,
};

pub use certgen;
