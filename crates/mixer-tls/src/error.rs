use std::io;
use std::path::PathBuf;

/// A key, certificate or CRL file that could not be used.
///
/// Every variant names the file, so the message alone shows the operator which
/// file to fix.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read at all.
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: io::Error },

    /// The file exists but has no bytes in it.
    #[error("{path} is empty: expected {expected}")]
    Empty {
        path: PathBuf,
        expected: &'static str,
    },

    /// The file holds PEM blocks, but none of the expected kind.
    #[error("{path} contains {found} but no {expected}; check that the right file was given")]
    WrongKind {
        path: PathBuf,
        found: String,
        expected: &'static str,
    },

    /// The private key is protected by a passphrase.
    #[error(
        "{path} contains an encrypted private key; the key must be unencrypted \
         (for example: openssl pkey -in {path} -out plain.key)"
    )]
    EncryptedKey { path: PathBuf },

    /// The PEM text is malformed: bad base64, a missing END line and so on.
    #[error("{path} is not valid PEM: {detail}")]
    BadPem { path: PathBuf, detail: String },

    /// The file is neither PEM nor a DER encoding of the expected kind.
    #[error("{path} is neither PEM nor DER {expected}")]
    NotRecognized {
        path: PathBuf,
        expected: &'static str,
    },

    /// A decoded item could not be parsed as what it claims to be.
    #[error("{path} contains an invalid {expected}: {detail}")]
    Invalid {
        path: PathBuf,
        expected: &'static str,
        detail: String,
    },
}

/// A set of loaded files that do not form a working TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// One of the files could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),

    /// The private key does not belong to the first certificate of the chain.
    #[error(
        "private key {key} does not match certificate {cert}; \
         give the key that was used to create that certificate"
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },

    /// rustls rejected the key, for example an unsupported algorithm.
    #[error("private key {key} cannot be used: {cause}")]
    UnusableKey { key: PathBuf, cause: rustls::Error },

    /// The CA file contained no certificate usable as a trust anchor.
    #[error("no usable CA certificate in {path}: {detail}")]
    TrustAnchors { path: PathBuf, detail: String },

    /// A CRL could not be used with the configured trust anchors.
    #[error("cannot use the CRLs with the CAs in {ca}: {detail}")]
    Revocation { ca: PathBuf, detail: String },

    /// A CRL was issued by none of the client CAs, so it would check nothing.
    #[error(
        "CRL {path} was issued by {issuer}, which is not a CA in {ca}; \
         give the CRL of a configured client CA or add its CA to the client CA file"
    )]
    UnknownCrlIssuer {
        path: PathBuf,
        issuer: String,
        ca: PathBuf,
    },

    /// rustls rejected the combination of settings.
    #[error("invalid TLS settings: {0}")]
    Rustls(#[from] rustls::Error),
}
