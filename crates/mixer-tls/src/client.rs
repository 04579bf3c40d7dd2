//! The service's side of the handshake: its own certificate, and the CA the
//! proxy's certificate must chain to.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::Resumption;
use rustls::crypto::{aws_lc_rs, CryptoProvider};
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

/// Client settings other than files. The default offers everything the
/// workspace's crypto provider supports and resumes sessions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientTlsOptions {
    /// Offer only TLS 1.3, the X25519 group and TLS13_AES_128_GCM_SHA256,
    /// which every TLS 1.3 server supports, so that benchmarks of different
    /// servers negotiate the same parameters.
    pub tls13_x25519_aes128_only: bool,
    /// Turn session resumption off, so every connection makes a full
    /// handshake.
    pub disable_resumption: bool,
}

/// Loads `files` and builds a client config that presents the client
/// certificate and verifies the server against the given CA only (the
/// system's trust store is not consulted).
pub fn client_config(files: &ClientTlsFiles) -> Result<Arc<ClientConfig>, ConfigError> {
    client_config_with_options(files, &ClientTlsOptions::default())
}

/// Builds a client config like [`client_config`], with `options` applied.
pub fn client_config_with_options(
    files: &ClientTlsFiles,
    options: &ClientTlsOptions,
) -> Result<Arc<ClientConfig>, ConfigError> {
    let provider = if options.tls13_x25519_aes128_only {
        Arc::new(CryptoProvider {
            cipher_suites: vec![aws_lc_rs::cipher_suite::TLS13_AES_128_GCM_SHA256],
            kx_groups: vec![aws_lc_rs::kx_group::X25519],
            ..aws_lc_rs::default_provider()
        })
    } else {
        crypto_provider()
    };

    let anchors = load_trust_anchors(&files.ca)?;
    let roots = root_store(&anchors.certs, &files.ca)?;
    let certified_key = load_certified_key(&files.cert, &files.key, &provider)?;

    let versions: &[&rustls::SupportedProtocolVersion] = if options.tls13_x25519_aes128_only {
        &[&rustls::version::TLS13]
    } else {
        rustls::DEFAULT_VERSIONS
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)?
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified_key)));
    if options.disable_resumption {
        config.resumption = Resumption::disabled();
    }
    Ok(Arc::new(config))
}
