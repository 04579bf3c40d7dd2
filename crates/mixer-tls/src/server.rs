//! The proxy's side of the handshake: its own certificate, and the CA and
//! CRLs that client certificates are verified against.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::CertificateRevocationListDer;

use crate::crl::{check_crls, CrlSummary};
use crate::inspect::{summarize_certificate, CertificateSummary};
use crate::keypair::{load_certified_key, root_store};
use crate::pem::{load_crls, load_trust_anchors};
use crate::verifier::RecordingVerifier;
use crate::{crypto_provider, ClientPolicy, ConfigError};

/// The files a TLS server is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTlsFiles {
    /// The server's certificate chain, leaf first.
    pub cert: PathBuf,
    /// The private key of the leaf certificate.
    pub key: PathBuf,
    /// The CA certificates that client certificates must chain to.
    pub client_ca: PathBuf,
    /// Certificate revocation lists checked for the whole client chain.
    pub crls: Vec<PathBuf>,
}

/// The lowest TLS version a server accepts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3.
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// Per-listener settings that are not files.
#[derive(Debug, Clone, Default)]
pub struct ServerTlsOptions {
    /// The lowest protocol version to accept.
    pub min_version: TlsVersion,
    /// Who may connect once the chain is verified; `None` admits any client
    /// whose certificate chains to the client CA.
    pub policy: Option<Arc<dyn ClientPolicy>>,
}

/// Everything loaded from a [`ServerTlsFiles`], checked for consistency and
/// ready to build configs from.
#[derive(Debug, Clone)]
pub struct ServerMaterial {
    /// The files this material was loaded from.
    pub files: ServerTlsFiles,
    certified_key: Arc<CertifiedKey>,
    client_roots: Arc<RootCertStore>,
    crls: Vec<CertificateRevocationListDer<'static>>,
    /// The server's own chain, leaf first.
    pub chain: Vec<CertificateSummary>,
    /// The CA certificates trusted for clients.
    pub client_cas: Vec<CertificateSummary>,
    /// CRLs loaded, with the file each came from.
    pub crl_files: Vec<(PathBuf, usize)>,
    /// Issuer, nextUpdate and size of every CRL loaded.
    pub crl_summaries: Vec<CrlSummary>,
}

impl ServerMaterial {
    /// Loads and cross-checks every file: the key must match the leaf
    /// certificate, and the CA file must hold at least one usable CA.
    pub fn load(files: &ServerTlsFiles) -> Result<Self, ConfigError> {
        let provider = crypto_provider();

        let certified_key = load_certified_key(&files.cert, &files.key, &provider)?;
        let chain = certified_key
            .cert
            .iter()
            .filter_map(summarize_certificate)
            .collect();
        let anchors = load_trust_anchors(&files.client_ca)?;
        let client_roots = root_store(&anchors.certs, &files.client_ca)?;

        let mut crls = Vec::new();
        let mut crl_files = Vec::new();
        let mut crl_summaries = Vec::new();
        for path in &files.crls {
            let loaded = load_crls(path)?;
            crl_summaries.extend(check_crls(path, &loaded, &anchors.certs, &files.client_ca)?);
            crl_files.push((path.clone(), loaded.len()));
            crls.extend(loaded);
        }

        Ok(Self {
            files: files.clone(),
            certified_key: Arc::new(certified_key),
            client_roots: Arc::new(client_roots),
            crls,
            chain,
            client_cas: anchors
                .certs
                .iter()
                .filter_map(summarize_certificate)
                .collect(),
            crl_files,
            crl_summaries,
        })
    }

    /// Returns the parsed CRLs, for callers that check them against the CAs.
    pub fn crls(&self) -> &[CertificateRevocationListDer<'static>] {
        &self.crls
    }

    /// Builds a server config that requires and verifies a client
    /// certificate. Session resumption by tickets and by the session cache
    /// stays on, because real clients reconnect often.
    pub fn server_config(
        &self,
        options: &ServerTlsOptions,
    ) -> Result<Arc<ServerConfig>, ConfigError> {
        let provider = crypto_provider();

        // Revocation is checked for every certificate of the client chain,
        // the rustls default. A certificate whose issuer has no CRL here is
        // accepted (allow_unknown_revocation_status), so a CRL for the root
        // does not force one for every intermediate. A CRL past its
        // nextUpdate still revokes, since rustls ignores expiration by
        // default; callers warn about stale CRLs instead.
        let webpki = WebPkiClientVerifier::builder_with_provider(
            self.client_roots.clone(),
            provider.clone(),
        )
        .with_crls(self.crls.iter().cloned())
        .allow_unknown_revocation_status()
        .build()
        .map_err(|err| ConfigError::Revocation {
            ca: self.files.client_ca.clone(),
            detail: err.to_string(),
        })?;
        let verifier = Arc::new(RecordingVerifier {
            inner: webpki,
            policy: options.policy.clone(),
        });

        let versions: &[&rustls::SupportedProtocolVersion] = match options.min_version {
            TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
            TlsVersion::Tls13 => &[&rustls::version::TLS13],
        };
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)?
            .with_client_cert_verifier(verifier)
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(self.certified_key.clone())));
        config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new()?;
        Ok(Arc::new(config))
    }
}

/// Loads `files` and builds one server config from them.
pub fn server_config(
    files: &ServerTlsFiles,
    options: &ServerTlsOptions,
) -> Result<Arc<ServerConfig>, ConfigError> {
    ServerMaterial::load(files)?.server_config(options)
}
