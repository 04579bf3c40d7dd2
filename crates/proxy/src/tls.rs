//! The proxy's TLS material: loaded at start-up and on reload, reported in
//! the log, and shared with each route through a swappable config.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use mixer_tls::rustls::ServerConfig;
use mixer_tls::{ConfigError, CrlSummary, ServerMaterial, ServerTlsFiles, ServerTlsOptions};

use crate::expiry::log_material;
use crate::metrics::ProxyMetrics;

/// The server config new handshakes use. Replacing it leaves connections
/// that already finished their handshake untouched.
pub type SharedServerConfig = Arc<ArcSwap<ServerConfig>>;

/// TLS files that cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsLoadError {
    /// A file did not load, or the files do not fit together.
    #[error(transparent)]
    Tls(#[from] ConfigError),
    /// The proxy's own certificate has expired, so every client would
    /// reject it.
    #[error("certificate {path} expired at {not_after}; install a renewed certificate and key")]
    ExpiredLeaf { path: PathBuf, not_after: String },
}

/// The TLS files and one config per route, built from the same material so
/// that every route serves the same certificate.
#[derive(Debug)]
pub struct TlsState {
    files: ServerTlsFiles,
    routes: Vec<(ServerTlsOptions, SharedServerConfig)>,
    /// Certificates expiring within this time are warned about.
    expiry_warning: Duration,
    /// The CRLs in use, for the periodic nextUpdate check.
    crls: Mutex<Vec<CrlSummary>>,
    /// Where certificate expiry times and reload results are exported.
    metrics: Arc<ProxyMetrics>,
}

impl TlsState {
    /// Loads the files, logs what was loaded, and builds one config for
    /// each entry of `route_options`, in the same order.
    pub fn load(
        files: &ServerTlsFiles,
        route_options: Vec<ServerTlsOptions>,
        expiry_warning: Duration,
        metrics: Arc<ProxyMetrics>,
    ) -> Result<Self, TlsLoadError> {
        let (configs, crls) = build_configs(files, &route_options, expiry_warning, &metrics)?;
        let routes = route_options
            .into_iter()
            .zip(configs)
            .map(|(options, config)| (options, Arc::new(ArcSwap::new(config))))
            .collect();
        Ok(Self {
            files: files.clone(),
            routes,
            expiry_warning,
            crls: Mutex::new(crls),
            metrics,
        })
    }

    /// Returns the swappable config of route `index`.
    pub fn route_config(&self, index: usize) -> SharedServerConfig {
        self.routes[index].1.clone()
    }

    /// Loads the files again and, only when every route's config builds,
    /// swaps all of them in. On error the old configs stay in use.
    pub fn reload(&self) -> Result<(), TlsLoadError> {
        let options: Vec<ServerTlsOptions> =
            self.routes.iter().map(|(opts, _)| opts.clone()).collect();
        let built = build_configs(&self.files, &options, self.expiry_warning, &self.metrics);
        self.metrics.record_reload(built.is_ok());
        let (configs, crls) = built?;
        for ((_, shared), config) in self.routes.iter().zip(configs) {
            shared.store(config);
        }
        *self.crls.lock().unwrap_or_else(|e| e.into_inner()) = crls;
        Ok(())
    }

    /// Returns the summaries of the CRLs in use.
    pub fn crls(&self) -> Vec<CrlSummary> {
        self.crls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Configs for each route, and the CRLs they check.
type Built = (Vec<Arc<ServerConfig>>, Vec<CrlSummary>);

fn build_configs(
    files: &ServerTlsFiles,
    route_options: &[ServerTlsOptions],
    expiry_warning: Duration,
    metrics: &ProxyMetrics,
) -> Result<Built, TlsLoadError> {
    let material = ServerMaterial::load(files)?;
    if let Some(leaf) = material.chain.first() {
        if leaf.remaining(SystemTime::now()).is_none() {
            return Err(TlsLoadError::ExpiredLeaf {
                path: files.cert.clone(),
                not_after: leaf.not_after_rfc3339(),
            });
        }
    }
    log_material(&material, expiry_warning);
    let configs = route_options
        .iter()
        .map(|options| material.server_config(options))
        .collect::<Result<_, _>>()?;
    metrics.set_certificates(&material.chain, &material.client_cas);
    Ok((configs, material.crl_summaries.clone()))
}
