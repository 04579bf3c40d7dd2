//! Reading keys, certificates and CRLs from PEM or DER files.
//!
//! Files are read the way OpenSSL reads them: text outside PEM blocks is
//! ignored, CRLF line endings and a UTF-8 byte-order mark are accepted, and a
//! file without any PEM block is taken as DER. A file that yields nothing of
//! the expected kind is always an error.
//!
//! Each `load_*` function reads a file and hands its bytes to the matching
//! `parse_*` function, which takes bytes that came from anywhere and names
//! them in errors by the `origin` path it is given.

use std::fs;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::{self, PemObject, SectionKind};
use rustls_pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs1KeyDer,
    PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};

use crate::LoadError;

const UTF8_BOM: &[u8] = &[0xEF, 0xBB, 0xBF];
const BEGIN_MARKER: &str = "-----BEGIN ";

const CERTIFICATE: &str = "certificate";
const PRIVATE_KEY: &str = "private key";
const CRL: &str = "certificate revocation list";

/// One decoded PEM block: its kind and its DER bytes.
type Section = (SectionKind, Vec<u8>);

/// CA certificates read from one file, kept with the file they came from.
#[derive(Debug, Clone)]
pub struct TrustAnchors {
    /// The file the certificates were read from.
    pub path: PathBuf,
    /// Every certificate in the file, in file order.
    pub certs: Vec<CertificateDer<'static>>,
}

/// Loads a certificate chain, leaf first, from a PEM file (one or more
/// `CERTIFICATE` blocks) or a DER file (one certificate).
pub fn load_cert_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, LoadError> {
    parse_cert_chain(&read_file(path)?, path)
}

/// Parses a certificate chain from the bytes of a PEM or DER file, as
/// [`load_cert_chain`] does. Errors name `origin`.
pub fn parse_cert_chain(
    bytes: &[u8],
    origin: &Path,
) -> Result<Vec<CertificateDer<'static>>, LoadError> {
    let file = SourceFile::new(origin, bytes, CERTIFICATE)?;
    let certs: Vec<CertificateDer<'static>> = match file.pem_sections()? {
        Some(sections) => sections
            .into_iter()
            .filter(|(kind, _)| *kind == SectionKind::Certificate)
            .map(|(_, der)| CertificateDer::from(der))
            .collect(),
        None => vec![CertificateDer::from(file.bytes.clone())],
    };

    if certs.is_empty() {
        return Err(file.wrong_kind());
    }
    for cert in &certs {
        if let Err(err) = x509_parser::parse_x509_certificate(cert) {
            return Err(file.invalid_or_unrecognized(err.to_string()));
        }
    }
    Ok(certs)
}

/// Loads every CA certificate of a PEM or DER file as trust anchors.
pub fn load_trust_anchors(path: &Path) -> Result<TrustAnchors, LoadError> {
    Ok(TrustAnchors {
        path: path.to_path_buf(),
        certs: load_cert_chain(path)?,
    })
}

/// Loads the first private key of a file: PKCS#1 (`RSA PRIVATE KEY`), PKCS#8
/// (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`, also after an `EC PARAMETERS`
/// block), in PEM or DER.
pub fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, LoadError> {
    parse_private_key(&read_file(path)?, path)
}

/// Parses the first private key from the bytes of a PEM or DER file, as
/// [`load_private_key`] does. Errors name `origin`.
pub fn parse_private_key(bytes: &[u8], origin: &Path) -> Result<PrivateKeyDer<'static>, LoadError> {
    let file = SourceFile::new(origin, bytes, PRIVATE_KEY)?;
    if file.has_encrypted_key() {
        return Err(LoadError::EncryptedKey {
            path: file.path.to_path_buf(),
        });
    }

    let Some(sections) = file.pem_sections()? else {
        return PrivateKeyDer::try_from(file.bytes.clone()).map_err(|_| file.not_recognized());
    };
    let key = sections.into_iter().find_map(|(kind, der)| match kind {
        SectionKind::RsaPrivateKey => Some(PrivatePkcs1KeyDer::from(der).into()),
        SectionKind::PrivateKey => Some(PrivatePkcs8KeyDer::from(der).into()),
        SectionKind::EcPrivateKey => Some(PrivateSec1KeyDer::from(der).into()),
        _ => None,
    });
    key.ok_or_else(|| file.wrong_kind())
}

/// Loads every CRL of a PEM file (`X509 CRL` blocks) or a DER file (one CRL).
pub fn load_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, LoadError> {
    parse_crls(&read_file(path)?, path)
}

/// Parses every CRL from the bytes of a PEM or DER file, as [`load_crls`]
/// does. Errors name `origin`.
pub fn parse_crls(
    bytes: &[u8],
    origin: &Path,
) -> Result<Vec<CertificateRevocationListDer<'static>>, LoadError> {
    let file = SourceFile::new(origin, bytes, CRL)?;
    let crls: Vec<CertificateRevocationListDer<'static>> = match file.pem_sections()? {
        Some(sections) => sections
            .into_iter()
            .filter(|(kind, _)| *kind == SectionKind::Crl)
            .map(|(_, der)| CertificateRevocationListDer::from(der))
            .collect(),
        None => vec![CertificateRevocationListDer::from(file.bytes.clone())],
    };

    if crls.is_empty() {
        return Err(file.wrong_kind());
    }
    for crl in &crls {
        if let Err(err) = x509_parser::parse_x509_crl(crl) {
            return Err(file.invalid_or_unrecognized(err.to_string()));
        }
    }
    Ok(crls)
}

fn read_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    fs::read(path).map_err(|cause| LoadError::Read {
        path: path.to_path_buf(),
        cause,
    })
}

/// The bytes of one input file, with what the caller expects to find in it.
struct SourceFile<'a> {
    path: &'a Path,
    bytes: Vec<u8>,
    expected: &'static str,
}

impl<'a> SourceFile<'a> {
    fn new(path: &'a Path, bytes: &[u8], expected: &'static str) -> Result<Self, LoadError> {
        let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes).to_vec();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(LoadError::Empty {
                path: path.to_path_buf(),
                expected,
            });
        }
        Ok(Self {
            path,
            bytes,
            expected,
        })
    }

    /// Labels of every PEM block in the file, known to rustls or not.
    fn labels(&self) -> Vec<String> {
        String::from_utf8_lossy(&self.bytes)
            .lines()
            .filter_map(|line| line.trim().strip_prefix(BEGIN_MARKER))
            .map(|rest| rest.trim_end_matches('-').to_string())
            .collect()
    }

    fn is_pem(&self) -> bool {
        self.bytes
            .windows(BEGIN_MARKER.len())
            .any(|window| window == BEGIN_MARKER.as_bytes())
    }

    /// Decodes every PEM block of a kind rustls supports, or returns `None` for
    /// a file with
    /// no PEM block at all, which the caller then reads as DER.
    fn pem_sections(&self) -> Result<Option<Vec<Section>>, LoadError> {
        if !self.is_pem() {
            return Ok(None);
        }
        let sections = Section::pem_slice_iter(&self.bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| LoadError::BadPem {
                path: self.path.to_path_buf(),
                detail: describe_pem_error(&err),
            })?;
        Ok(Some(sections))
    }

    fn has_encrypted_key(&self) -> bool {
        let text = String::from_utf8_lossy(&self.bytes);
        let legacy_encrypted = text.contains("Proc-Type: 4,ENCRYPTED");
        legacy_encrypted || self.labels().iter().any(|l| l == "ENCRYPTED PRIVATE KEY")
    }

    fn wrong_kind(&self) -> LoadError {
        let labels = self.labels();
        let found = match labels.len() {
            0 => "no PEM block".to_string(),
            1 => format!("one PEM block ({})", labels[0]),
            n => format!("{n} PEM blocks ({})", labels.join(", ")),
        };
        LoadError::WrongKind {
            path: self.path.to_path_buf(),
            found,
            expected: self.expected,
        }
    }

    fn not_recognized(&self) -> LoadError {
        LoadError::NotRecognized {
            path: self.path.to_path_buf(),
            expected: self.expected,
        }
    }

    /// A PEM block that fails to parse is invalid; a file that was guessed to
    /// be DER and fails to parse is most likely not DER at all.
    fn invalid_or_unrecognized(&self, detail: String) -> LoadError {
        if self.is_pem() {
            LoadError::Invalid {
                path: self.path.to_path_buf(),
                expected: self.expected,
                detail,
            }
        } else {
            self.not_recognized()
        }
    }
}

/// Describes a PEM syntax error in words, because the parser's own messages
/// print labels and lines as lists of byte values.
fn describe_pem_error(err: &pem::Error) -> String {
    match err {
        pem::Error::MissingSectionEnd { end_marker } => format!(
            "the line -----END {}----- is missing, so the file may be cut short",
            String::from_utf8_lossy(end_marker)
        ),
        pem::Error::IllegalSectionStart { line } => format!(
            "malformed BEGIN line {:?}, which must look like -----BEGIN LABEL-----",
            String::from_utf8_lossy(line).trim_end()
        ),
        pem::Error::Base64Decode(detail) => {
            format!("the text between BEGIN and END is not valid base64 ({detail})")
        }
        other => other.to_string(),
    }
}
