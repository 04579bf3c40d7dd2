//! Reports on loaded TLS material: each certificate's subject and expiry,
//! each CRL's issuer and nextUpdate, and warnings before anything lapses.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mixer_tls::{CertificateSummary, CrlSummary, ServerMaterial};
use tokio_util::sync::CancellationToken;

use crate::tls::TlsState;

/// How often loaded CRLs are checked for a passed nextUpdate. CRLs are
/// commonly reissued daily or weekly, so an hour finds a stale one early.
const CRL_CHECK_INTERVAL: Duration = Duration::from_secs(3600);

/// Logs the own chain, the client CAs and the CRLs of `material`, with a
/// warning for each certificate that expires within `warning`.
pub(crate) fn log_material(material: &ServerMaterial, warning: Duration) {
    let now = SystemTime::now();
    for cert in &material.chain {
        log_certificate(
            "server chain",
            &material.files.cert.display().to_string(),
            cert,
            now,
            warning,
        );
    }
    for ca in &material.client_cas {
        let file = material.files.client_ca.display().to_string();
        log_certificate("client CA", &file, ca, now, warning);
        // A self-signed version 1 certificate, as `openssl x509 -req
        // -signkey` makes, has no basicConstraints but is a usable root.
        if !ca.is_ca && ca.subject != ca.issuer {
            tracing::warn!(
                file,
                subject = %ca.subject,
                "client CA file contains a certificate that is not a CA; clients it did not \
                 sign are rejected as unknown_ca, so give the CA certificate instead"
            );
        }
    }
    for (path, count) in &material.crl_files {
        tracing::info!(file = %path.display(), crls = count, "CRL file loaded");
    }
    for crl in &material.crl_summaries {
        log_crl(crl, now);
    }
}

fn log_certificate(
    role: &str,
    file: &str,
    cert: &CertificateSummary,
    now: SystemTime,
    warning: Duration,
) {
    let Some(left) = cert.remaining(now) else {
        let consequence = if role == "client CA" {
            "client CA has expired; client certificates that chain only to it are rejected"
        } else {
            "certificate has expired"
        };
        tracing::warn!(
            role,
            file,
            subject = %cert.subject,
            not_after = %cert.not_after_rfc3339(),
            "{consequence}"
        );
        return;
    };
    let days_left = left.as_secs() / 86_400;
    if left < warning {
        tracing::warn!(
            role,
            file,
            subject = %cert.subject,
            not_after = %cert.not_after_rfc3339(),
            days_left,
            "certificate expires soon; renew it"
        );
    } else {
        tracing::info!(
            role,
            file,
            subject = %cert.subject,
            not_after = %cert.not_after_rfc3339(),
            days_left,
            "certificate loaded"
        );
    }
}

fn log_crl(crl: &CrlSummary, now: SystemTime) {
    if crl.is_stale(now) {
        warn_stale(crl);
    } else {
        tracing::info!(
            file = %crl.path.display(),
            issuer = %crl.issuer,
            next_update = %crl.next_update_rfc3339(),
            revoked = crl.revoked,
            "CRL loaded"
        );
    }
}

fn warn_stale(crl: &CrlSummary) {
    tracing::warn!(
        file = %crl.path.display(),
        issuer = %crl.issuer,
        next_update = %crl.next_update_rfc3339(),
        revoked = crl.revoked,
        "CRL is past its nextUpdate; it is still enforced, replace it with a current one"
    );
}

/// Warns every [`CRL_CHECK_INTERVAL`] about each CRL in use whose
/// nextUpdate has passed, until `stop` is cancelled.
pub(crate) async fn watch_crl_freshness(state: Arc<TlsState>, stop: CancellationToken) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(CRL_CHECK_INTERVAL) => {}
            () = stop.cancelled() => return,
        }
        let now = SystemTime::now();
        for crl in state.crls().iter().filter(|crl| crl.is_stale(now)) {
            warn_stale(crl);
        }
    }
}
