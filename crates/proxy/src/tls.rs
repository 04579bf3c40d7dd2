//! The proxy's TLS material: loaded at start-up and on reload, reported in
//! the log, and shared with each route through a swappable config.

use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use mixer_tls::rustls::ServerConfig;
use mixer_tls::{
    CertificateSummary, ConfigError, ServerMaterial, ServerTlsFiles, ServerTlsOptions,
};

/// The server config new handshakes use. Replacing it leaves connections
/// that already finished their handshake untouched.
pub type SharedServerConfig = Arc<ArcSwap<ServerConfig>>;

/// The TLS files and one config per route, built from the same material so
/// that every route serves the same certificate.
#[derive(Debug)]
pub struct TlsState {
    files: ServerTlsFiles,
    routes: Vec<(ServerTlsOptions, SharedServerConfig)>,
}

impl TlsState {
    /// Loads the files, logs what was loaded, and builds one config for
    /// each entry of `route_options`, in the same order.
    pub fn load(
        files: &ServerTlsFiles,
        route_options: Vec<ServerTlsOptions>,
    ) -> Result<Self, ConfigError> {
        let configs = build_configs(files, &route_options)?;
        let routes = route_options
            .into_iter()
            .zip(configs)
            .map(|(options, config)| (options, Arc::new(ArcSwap::new(config))))
            .collect();
        Ok(Self {
            files: files.clone(),
            routes,
        })
    }

    /// Returns the swappable config of route `index`.
    pub fn route_config(&self, index: usize) -> SharedServerConfig {
        self.routes[index].1.clone()
    }

    /// Loads the files again and, only when every route's config builds,
    /// swaps all of them in. On error the old configs stay in use.
    pub fn reload(&self) -> Result<(), ConfigError> {
        let options: Vec<ServerTlsOptions> =
            self.routes.iter().map(|(opts, _)| opts.clone()).collect();
        let configs = build_configs(&self.files, &options)?;
        for ((_, shared), config) in self.routes.iter().zip(configs) {
            shared.store(config);
        }
        Ok(())
    }
}

fn build_configs(
    files: &ServerTlsFiles,
    route_options: &[ServerTlsOptions],
) -> Result<Vec<Arc<ServerConfig>>, ConfigError> {
    let material = ServerMaterial::load(files)?;
    log_material(&material);
    route_options
        .iter()
        .map(|options| material.server_config(options))
        .collect()
}

fn log_material(material: &ServerMaterial) {
    let now = SystemTime::now();
    for cert in &material.chain {
        log_certificate(
            "server chain",
            &material.files.cert.display().to_string(),
            cert,
            now,
        );
    }
    for ca in &material.client_cas {
        log_certificate(
            "client CA",
            &material.files.client_ca.display().to_string(),
            ca,
            now,
        );
    }
}

fn log_certificate(role: &str, file: &str, cert: &CertificateSummary, now: SystemTime) {
    match cert.remaining(now) {
        Some(left) => tracing::info!(
            role,
            file,
            subject = %cert.subject,
            not_after = %cert.not_after_rfc3339(),
            days_left = left.as_secs() / 86_400,
            "certificate loaded"
        ),
        None => tracing::warn!(
            role,
            file,
            subject = %cert.subject,
            not_after = %cert.not_after_rfc3339(),
            "certificate has expired"
        ),
    }
}
