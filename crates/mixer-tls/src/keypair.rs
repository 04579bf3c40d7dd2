//! Combining loaded files into the pieces rustls configs are built from.

use std::path::Path;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;

use crate::pem::{load_cert_chain, load_private_key};
use crate::ConfigError;

/// Loads a certificate chain and its private key and checks that the key
/// belongs to the leaf certificate.
pub(crate) fn load_certified_key(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, ConfigError> {
    let chain = load_cert_chain(cert)?;
    let key_der = load_private_key(key)?;
    let signing_key = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(|cause| ConfigError::UnusableKey {
            key: key.to_path_buf(),
            cause,
        })?;

    let certified_key = CertifiedKey::new(chain, signing_key);
    if let Err(rustls::Error::InconsistentKeys(_)) = certified_key.keys_match() {
        return Err(ConfigError::KeyMismatch {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        });
    }
    Ok(certified_key)
}

/// Builds a root store from CA certificates; at least one must be usable.
pub(crate) fn root_store(
    certs: &[CertificateDer<'static>],
    path: &Path,
) -> Result<RootCertStore, ConfigError> {
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(certs.iter().cloned());
    if added == 0 {
        return Err(ConfigError::TrustAnchors {
            path: path.to_path_buf(),
            detail: format!("all {ignored} certificates were rejected as trust anchors"),
        });
    }
    Ok(roots)
}
