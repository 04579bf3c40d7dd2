//! TLS plumbing shared by the proxy, the service and the tests.
//!
//! Everything that touches keys, certificates or rustls configuration lives
//! here, so that the proxy and the service agree on how files are read, how
//! peers are verified and how failures are described.

mod classify;
mod client;
mod crl;
mod error;
mod identity;
mod inspect;
mod keypair;
mod pem;
mod server;
mod verifier;

pub use classify::{classify_handshake_error, HandshakeFailure};
pub use client::{client_config, client_config_with_options, ClientTlsFiles, ClientTlsOptions};
pub use crl::CrlSummary;
pub use error::{ConfigError, LoadError};
pub use identity::PeerIdentity;
pub use inspect::{summarize_certificate, CertificateSummary};
pub use pem::{
    load_cert_chain, load_crls, load_private_key, load_trust_anchors, parse_cert_chain, parse_crls,
    parse_private_key, TrustAnchors,
};
pub use server::{server_config, ServerMaterial, ServerTlsFiles, ServerTlsOptions, TlsVersion};
pub use verifier::{capture_presented_identity, ClientPolicy, PolicyDenial, PresentedClient};

pub use rustls;
pub use tokio_rustls;

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// Returns the crypto provider every config in this workspace uses: aws-lc-rs
/// with its default cipher suites and key exchange groups, which put the
/// post-quantum hybrid X25519MLKEM768 first.
pub fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}
