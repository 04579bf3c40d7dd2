use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls_pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, X509Certificate};

/// What start-up and reload logs report about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// The subject as an RFC 4514 string, such as `CN=proxy, O=Studio`.
    pub subject: String,
    /// The issuer in the same form.
    pub issuer: String,
    /// Start of the validity period, in seconds since the Unix epoch.
    pub not_before: i64,
    /// End of the validity period, in seconds since the Unix epoch.
    pub not_after: i64,
    /// Whether the certificate carries basicConstraints with cA set.
    pub is_ca: bool,
}

impl CertificateSummary {
    /// Returns the time left until `not_after`, or `None` once it has passed.
    pub fn remaining(&self, now: SystemTime) -> Option<Duration> {
        let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
        let left = self.not_after.checked_sub(now)?;
        (left > 0).then(|| Duration::from_secs(left as u64))
    }

    /// Returns `not_after` as an RFC 3339 timestamp in UTC.
    pub fn not_after_rfc3339(&self) -> String {
        rfc3339(self.not_after)
    }
}

/// Formats seconds since the Unix epoch as an RFC 3339 timestamp in UTC.
pub(crate) fn rfc3339(timestamp: i64) -> String {
    x509_parser::time::ASN1Time::from_timestamp(timestamp)
        .ok()
        .and_then(|t| {
            t.to_datetime()
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| timestamp.to_string())
}

/// Reads the subject, issuer and validity of a DER certificate. Returns
/// `None` when the bytes are not a parsable certificate.
pub fn summarize_certificate(cert: &CertificateDer<'_>) -> Option<CertificateSummary> {
    let (_, parsed) = X509Certificate::from_der(cert).ok()?;
    let validity = parsed.validity();
    Some(CertificateSummary {
        subject: parsed.subject().to_string(),
        issuer: parsed.issuer().to_string(),
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        is_ca: parsed.is_ca(),
    })
}
