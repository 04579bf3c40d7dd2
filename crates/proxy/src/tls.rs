//! The proxy's TLS material: loaded at start-up and on reload, reported in
//! the log, and shared with each route through a swappable config.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use mixer_tls::rustls::ServerConfig;
use mixer_tls::{ConfigError, CrlSummary, ServerMaterial, ServerTlsFiles, ServerTlsOptions};

use crate::expiry::log_material;

/// The server config new handshakes use. Replacing it leaves connections
/// that already finished their handshake untouched.
pub type SharedServerConfig = Arc<ArcSwap<ServerConfig>>;

/// The TLS files and one config per route, built from the same material so
/// that every route serves the same certificate.
#[derive(Debug)]
pub struct TlsState {
    files: ServerTlsFiles,
    routes: Vec<(ServerTlsOptions, SharedServerConfig)>,
    /// The CRLs in use, for the periodic nextUpdate check.
    crls: Mutex<Vec<CrlSummary>>,
}

impl TlsState {
    /// Loads the files, logs what was loaded, and builds one config for
    /// each entry of `route_options`, in the same order.
    pub fn load(
        files: &ServerTlsFiles,
        route_options: Vec<ServerTlsOptions>,
    ) -> Result<Self, ConfigError> {
        let (configs, crls) = build_configs(files, &route_options)?;
        let routes = route_options
            .into_iter()
            .zip(configs)
            .map(|(options, config)| (options, Arc::new(ArcSwap::new(config))))
            .collect();
        Ok(Self {
            files: files.clone(),
            routes,
            crls: Mutex::new(crls),
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
        let (configs, crls) = build_configs(&self.files, &options)?;
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
) -> Result<Built, ConfigError> {
    let material = ServerMaterial::load(files)?;
    log_material(&material);
    let configs = route_options
        .iter()
        .map(|options| material.server_config(options))
        .collect::<Result<_, _>>()?;
    Ok((configs, material.crl_summaries.clone()))
}
