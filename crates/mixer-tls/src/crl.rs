//! Checks on loaded CRLs: each must come from a configured CA, and its
//! nextUpdate is reported so a stale list is noticed.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

use crate::ConfigError;

/// The facts about one CRL that load and reload logs report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlSummary {
    /// The file the CRL was read from.
    pub path: PathBuf,
    /// The issuer as an RFC 4514 string.
    pub issuer: String,
    /// The thisUpdate time, in seconds since the Unix epoch.
    pub this_update: i64,
    /// The nextUpdate time, in seconds since the Unix epoch, if present.
    pub next_update: Option<i64>,
    /// Number of revoked certificates listed.
    pub revoked: usize,
}

impl CrlSummary {
    /// Returns whether nextUpdate has passed at `now`. A CRL without
    /// nextUpdate never goes stale.
    pub fn is_stale(&self, now: SystemTime) -> bool {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.next_update.is_some_and(|next| next <= now)
    }

    /// Returns nextUpdate as an RFC 3339 timestamp in UTC, or `none`.
    pub fn next_update_rfc3339(&self) -> String {
        self.next_update
            .map_or_else(|| "none".to_string(), crate::inspect::rfc3339)
    }
}

/// Summarizes the CRLs of `path` and checks that each was issued by one of
/// `cas`, so that a CRL meant for another CA cannot sit in the
/// configuration while checking nothing.
pub(crate) fn check_crls(
    path: &Path,
    crls: &[CertificateRevocationListDer<'_>],
    cas: &[CertificateDer<'_>],
    ca_path: &Path,
) -> Result<Vec<CrlSummary>, ConfigError> {
    let ca_subjects: Vec<Vec<u8>> = cas
        .iter()
        .filter_map(|ca| X509Certificate::from_der(ca).ok())
        .map(|(_, ca)| ca.subject().as_raw().to_vec())
        .collect();

    let mut summaries = Vec::with_capacity(crls.len());
    for der in crls {
        let (_, crl) = CertificateRevocationList::from_der(der).map_err(|err| {
            ConfigError::Load(crate::LoadError::Invalid {
                path: path.to_path_buf(),
                expected: "certificate revocation list",
                detail: err.to_string(),
            })
        })?;
        let issuer = crl.issuer().to_string();
        if !ca_subjects.iter().any(|s| s == crl.issuer().as_raw()) {
            return Err(ConfigError::UnknownCrlIssuer {
                path: path.to_path_buf(),
                issuer,
                ca: ca_path.to_path_buf(),
            });
        }
        summaries.push(CrlSummary {
            path: path.to_path_buf(),
            issuer,
            this_update: crl.last_update().timestamp(),
            next_update: crl.next_update().map(|t| t.timestamp()),
            revoked: crl.iter_revoked_certificates().count(),
        });
    }
    Ok(summaries)
}
