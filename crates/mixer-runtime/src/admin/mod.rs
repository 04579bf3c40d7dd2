//! The admin endpoint every binary can serve: `GET /healthz` (the process
//! is alive), `GET /readyz` (the process is ready for traffic) and
//! `GET /metrics` (Prometheus text format), plus the client side used by the
//! `healthcheck` subcommand.

mod address;
mod healthcheck;
mod readiness;
mod server;

pub use address::{resolve_admin_addr, AddressError};
pub use healthcheck::{check_ready, healthcheck, HealthcheckError, HEALTHCHECK_TIMEOUT};
pub use readiness::Readiness;
pub use server::{start_admin, AdminError, AdminServer};
