use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use super::address::{resolve_admin_addr, AddressError};
use super::Readiness;
use crate::sockopt::{bind_listener, BindError};

/// An admin endpoint that could not be started.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The address did not resolve.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// The listener could not be bound.
    #[error("admin endpoint: {0}")]
    Bind(#[from] BindError),
}

/// A bound admin listener, ready to serve.
#[derive(Debug)]
pub struct AdminServer {
    listener: TcpListener,
}

#[derive(Clone)]
struct AdminState {
    registry: Arc<Registry>,
    readiness: Readiness,
}

impl AdminServer {
    /// Resolves `addr` (the first address the resolver lists is used) and
    /// binds the admin listener on it.
    pub async fn bind(addr: &str) -> Result<Self, AdminError> {
        let resolved = resolve_admin_addr(addr).await?;
        let listener = bind_listener(resolved)?;
        Ok(Self { listener })
    }

    /// Returns the bound address; useful when port 0 was requested.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `/healthz`, `/readyz` and `/metrics` until `shutdown`
    /// completes. `/metrics` encodes `registry` at each request.
    pub async fn serve(
        self,
        registry: Arc<Registry>,
        readiness: Readiness,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) {
        match self.listener.local_addr() {
            Ok(addr) => tracing::info!(admin.addr = %addr, "admin endpoint listening"),
            Err(err) => tracing::warn!(error = %err, "cannot read admin listener address"),
        }
        let app = Router::new()
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
            .route("/metrics", get(metrics))
            .with_state(AdminState {
                registry,
                readiness,
            });
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        if let Err(err) = served {
            tracing::error!(error = %err, "admin endpoint stopped");
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AdminState>) -> (StatusCode, &'static str) {
    if state.readiness.is_ready() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

async fn metrics(State(state): State<AdminState>) -> Response {
    let mut body = String::new();
    match prometheus_text::encode(&mut body, &state.registry) {
        Ok(()) => (
            [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
            body,
        )
            .into_response(),
        Err(_) => {
            tracing::error!("cannot encode metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Starts the admin endpoint on `addr` when one is configured, as a task
/// that lives as long as the process, so `/healthz` keeps responding while
/// connections drain. Returns the bound address, or `None` when `addr` is
/// `None`.
pub async fn start_admin(
    addr: Option<&str>,
    registry: Arc<Registry>,
    readiness: Readiness,
) -> Result<Option<SocketAddr>, AdminError> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let server = AdminServer::bind(addr).await?;
    let local = server.local_addr().ok();
    tokio::spawn(server.serve(registry, readiness, std::future::pending()));
    Ok(local)
}
