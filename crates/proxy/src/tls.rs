//! The proxy's TLS material: loaded once at start-up, reported in the log,
//! and shared by every listener through a swappable config.

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

use crate::metrics::ProxyMetrics;

/// Loads the TLS files, logs what was loaded, exports the certificates'
/// expiry times, and builds a config.
pub fn load_server_config(
    files: &ServerTlsFiles,
    metrics: &ProxyMetrics,
) -> Result<SharedServerConfig, ConfigError> {
    let material = ServerMaterial::load(files)?;
    log_material(&material);
    metrics.set_certificates(&material.chain, &material.client_cas);
    let config = material.server_config(&ServerTlsOptions::default())?;
    Ok(Arc::new(ArcSwap::new(config)))
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
