//! Plain-word descriptions of failed handshakes, for logs and metrics.

use std::io;

use rustls::{CertificateError, Error as TlsError};

/// Why a handshake failed, in two forms: a short stable `reason` for metric
/// labels and a sentence for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeFailure {
    /// A stable snake_case label, such as `no_client_cert` or `unknown_ca`.
    pub reason: &'static str,
    /// A sentence an operator can act on.
    pub detail: String,
}

impl HandshakeFailure {
    fn new(reason: &'static str, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}

/// Describes the error a tokio-rustls handshake future returned.
///
/// The TLS error is found by type inside the I/O error; an error that
/// carries none is a transport failure.
pub fn classify_handshake_error(err: &io::Error) -> HandshakeFailure {
    let tls = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsError>());
    match tls {
        Some(tls) => classify_tls_error(tls),
        None => classify_io_error(err),
    }
}

fn classify_io_error(err: &io::Error) -> HandshakeFailure {
    match err.kind() {
        io::ErrorKind::UnexpectedEof => HandshakeFailure::new(
            "closed_during_handshake",
            "peer closed the connection before the handshake finished",
        ),
        io::ErrorKind::TimedOut => HandshakeFailure::new("timeout", "handshake timed out"),
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => HandshakeFailure::new(
            "closed_during_handshake",
            format!("peer reset the connection during the handshake ({err})"),
        ),
        _ => HandshakeFailure::new("io", format!("I/O error during the handshake: {err}")),
    }
}

fn classify_tls_error(err: &TlsError) -> HandshakeFailure {
    match err {
        TlsError::NoCertificatesPresented => HandshakeFailure::new(
            "no_client_cert",
            "peer presented no certificate, but a client certificate is required",
        ),
        TlsError::InvalidCertificate(cert_err) => classify_certificate_error(cert_err),
        TlsError::AlertReceived(alert) => HandshakeFailure::new(
            "alert_received",
            format!(
                "peer aborted the handshake with alert {alert:?}; \
                 it most likely does not trust our certificate"
            ),
        ),
        TlsError::InvalidMessage(_) | TlsError::InappropriateMessage { .. } => {
            HandshakeFailure::new(
                "not_tls",
                format!("peer sent data that is not a valid TLS handshake ({err})"),
            )
        }
        TlsError::PeerIncompatible(_) => HandshakeFailure::new(
            "incompatible",
            format!("peer has no protocol version, cipher suite or key exchange in common ({err})"),
        ),
        _ => HandshakeFailure::new("protocol", format!("TLS error: {err}")),
    }
}

fn classify_certificate_error(err: &CertificateError) -> HandshakeFailure {
    use CertificateError as E;
    match err {
        E::UnknownIssuer => {
            HandshakeFailure::new("unknown_ca", "certificate is not signed by a trusted CA")
        }
        E::Expired | E::ExpiredContext { .. } => {
            HandshakeFailure::new("expired", format!("certificate has expired ({err})"))
        }
        E::NotValidYet | E::NotValidYetContext { .. } => HandshakeFailure::new(
            "not_yet_valid",
            format!("certificate is not valid yet ({err})"),
        ),
        E::Revoked => HandshakeFailure::new("revoked", "certificate has been revoked"),
        E::ApplicationVerificationFailure => HandshakeFailure::new(
            "denied",
            "certificate is valid but not allowed on this route",
        ),
        E::NotValidForName | E::NotValidForNameContext { .. } => HandshakeFailure::new(
            "name_mismatch",
            format!("certificate is not valid for the requested name ({err})"),
        ),
        E::InvalidPurpose | E::InvalidPurposeContext { .. } => HandshakeFailure::new(
            "wrong_purpose",
            format!("certificate may not be used for this purpose ({err})"),
        ),
        E::UnknownRevocationStatus
        | E::ExpiredRevocationList
        | E::ExpiredRevocationListContext { .. } => HandshakeFailure::new(
            "revocation_unknown",
            format!("revocation status unknown ({err})"),
        ),
        _ => HandshakeFailure::new("bad_certificate", format!("certificate rejected ({err})")),
    }
}
