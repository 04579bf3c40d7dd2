//! Set-up shared by the fuzz targets: one CA and one proxy server config,
//! made once per fuzzing process with the same code the proxy runs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use mixer_tls::rustls::ServerConfig;
use mixer_tls::{ServerMaterial, ServerTlsFiles, ServerTlsOptions};

/// The label errors carry in place of a file path.
pub const ORIGIN: &str = "fuzz-input";

/// Returns [`ORIGIN`] as a path, for the `parse_*` functions.
pub fn origin() -> &'static Path {
    Path::new(ORIGIN)
}

/// Certificate files written by `certgen` into a fresh folder.
#[derive(Debug)]
pub struct Bundle {
    /// The folder holding ca.crt, proxy.crt, proxy.key and the others.
    pub dir: PathBuf,
}

/// Returns the process-wide bundle, creating it on first use.
pub fn bundle() -> &'static Bundle {
    static BUNDLE: OnceLock<Bundle> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("mixer-fuzz-{}", std::process::id()));
        let options = certgen::BundleOptions {
            dir: dir.clone(),
            force: true,
            ca_days: 30,
            leaf_days: 30,
            extra_proxy_names: Vec::new(),
        };
        certgen::write_bundle(&options).expect("certgen writes a bundle into the temp folder");
        Bundle { dir }
    })
}

/// Returns the proxy's server config: client certificates required and
/// verified against the bundle's CA, as `proxy::Proxy::bind` builds it.
pub fn proxy_server_config() -> Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let dir = &bundle().dir;
            let files = ServerTlsFiles {
                cert: dir.join("proxy.crt"),
                key: dir.join("proxy.key"),
                client_ca: dir.join("ca.crt"),
                crls: Vec::new(),
            };
            ServerMaterial::load(&files)
                .and_then(|material| material.server_config(&ServerTlsOptions::default()))
                .expect("the certgen bundle forms a server config")
        })
        .clone()
}
