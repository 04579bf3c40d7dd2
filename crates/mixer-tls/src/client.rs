//! The service's side of the handshake: its own certificate, and the CA the
//! proxy's certificate must chain to.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::sign::SingleCertAndKey;
use rustls::ClientConfig;

use crate::keypair::{load_certified_key, root_store};
use crate::pem::load_trust_anchors;
use crate::{crypto_provider, ConfigError};

/// The files a TLS client with a client certificate is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTlsFiles {
    /// The client's certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key of the leaf certificate.
    pub key: PathBuf,
    /// The CA certificates the server's certificate must chain to.
    pub ca: PathBuf,
}

/// Loads `files` and builds a client config that presents the client
/// certificate and verifies the server against the given CA only (the
/// system's trust store is not consulted).
pub fn client_config(files: &ClientTlsFiles) -> Result<Arc<ClientConfig>, ConfigError> {
    let provider = crypto_provider();

    let anchors = load_trust_anchors(&files.ca)?;
    let roots = root_store(&anchors.certs, &files.ca)?;
    let certified_key = load_certified_key(&files.cert, &files.key, &provider)?;

    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified_key)));
    Ok(Arc::new(config))
}
