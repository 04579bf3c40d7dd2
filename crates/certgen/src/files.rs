//! Writing the CA, proxy and service certificates and keys to a folder.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::{Authority, LeafSpec, Usage};

/// What [`write_bundle`] creates and where.
#[derive(Debug, Clone)]
pub struct BundleOptions {
    /// The folder for the six files.
    pub dir: PathBuf,
    /// Replace existing files instead of failing.
    pub force: bool,
    /// Validity of the CA, in days.
    pub ca_days: i64,
    /// Validity of the proxy and service certificates, in days.
    pub leaf_days: i64,
    /// Extra DNS names or IP addresses for the proxy certificate, for a
    /// proxy reached by another name.
    pub extra_proxy_names: Vec<String>,
}

/// A bundle that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// A key exists and `force` was not given.
    #[error("{0} already exists; pass --force to replace every certificate and key")]
    Exists(PathBuf),
    /// Writing a file failed.
    #[error("cannot write {path}: {cause}")]
    Io { path: PathBuf, cause: io::Error },
    /// rcgen rejected a parameter, such as an invalid DNS name.
    #[error("cannot create certificate {name}: {cause}")]
    Generate {
        name: &'static str,
        cause: rcgen::Error,
    },
}

/// File names inside the bundle folder, matching the proxy's and the
/// service's default paths.
pub const CA_CERT: &str = "ca.crt";
const CA_KEY: &str = "ca.key";
const PROXY_CERT: &str = "proxy.crt";
const PROXY_KEY: &str = "proxy.key";
const SERVICE_CERT: &str = "service.crt";
const SERVICE_KEY: &str = "service.key";

/// Creates a CA and proxy and service certificates signed by it, and writes
/// them with keys readable by the owner only (mode 0600). Returns the paths
/// written.
pub fn write_bundle(options: &BundleOptions) -> Result<Vec<PathBuf>, WriteError> {
    let dir = &options.dir;
    if !options.force {
        for name in [
            CA_KEY,
            PROXY_KEY,
            SERVICE_KEY,
            CA_CERT,
            PROXY_CERT,
            SERVICE_CERT,
        ] {
            let path = dir.join(name);
            if path.exists() {
                return Err(WriteError::Exists(path));
            }
        }
    }
    fs::create_dir_all(dir).map_err(|cause| WriteError::Io {
        path: dir.clone(),
        cause,
    })?;

    let generate = |name| move |cause| WriteError::Generate { name, cause };
    let ca = Authority::new_root("mixer-proxy CA", options.ca_days).map_err(generate("CA"))?;

    let mut proxy = leaf_spec("proxy", Usage::Server, options.leaf_days);
    for extra in &options.extra_proxy_names {
        match extra.parse::<IpAddr>() {
            Ok(ip) => proxy.ip_addresses.push(ip),
            Err(_) => proxy.dns_names.push(extra.clone()),
        }
    }
    let proxy = ca.issue(&proxy).map_err(generate("proxy"))?;
    let service = leaf_spec("service", Usage::Client, options.leaf_days);
    let service = ca.issue(&service).map_err(generate("service"))?;

    let files = [
        (CA_CERT, ca.cert_pem(), false),
        (CA_KEY, ca.key_pem().to_string(), true),
        (PROXY_CERT, proxy.cert_pem, false),
        (PROXY_KEY, proxy.key_pem, true),
        (SERVICE_CERT, service.cert_pem, false),
        (SERVICE_KEY, service.key_pem, true),
    ];
    let mut written = Vec::with_capacity(files.len());
    for (name, contents, secret) in files {
        let path = dir.join(name);
        write_file(&path, contents.as_bytes(), secret).map_err(|cause| WriteError::Io {
            path: path.clone(),
            cause,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// A leaf named after its compose service, also valid on loopback.
fn leaf_spec(name: &str, usage: Usage, days: i64) -> LeafSpec {
    let mut spec = LeafSpec::new(name, usage, days);
    spec.dns_names = vec![name.to_string(), "localhost".to_string()];
    spec.ip_addresses = vec![
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(Ipv6Addr::LOCALHOST),
    ];
    spec
}

/// Writes through a temporary file and a rename, so a reader never sees a
/// half-written file. Secrets are created with mode 0600 from the start.
fn write_file(path: &Path, contents: &[u8], secret: bool) -> io::Result<()> {
    let temporary = path.with_extension("tmp");
    let mode = if secret { 0o600 } else { 0o644 };
    let _ = fs::remove_file(&temporary);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&temporary)?;
    file.write_all(contents)?;
    file.sync_all()?;
    fs::rename(&temporary, path)
}
