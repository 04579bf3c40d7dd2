//! Certificate files, as given by the operator (`--cert`, `--client-ca`),
//! and client certificates as a peer presents them: parsing, the summary
//! the start-up log prints, the identity the connection log prints, and
//! the trust-anchor conversion rustls performs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mixer_proxy_fuzz::origin;
use mixer_tls::rustls::pki_types::CertificateDer;
use mixer_tls::rustls::RootCertStore;
use mixer_tls::{parse_cert_chain, summarize_certificate, PeerIdentity};

fuzz_target!(|data: &[u8]| {
    // Raw DER as a client sends it in its Certificate message.
    describe(&CertificateDer::from(data));

    match parse_cert_chain(data, origin()) {
        Ok(chain) => {
            assert!(!chain.is_empty(), "a parsed chain is never empty");
            for cert in &chain {
                describe(cert);
            }
            let mut roots = RootCertStore::empty();
            let _ = roots.add_parsable_certificates(chain);
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.contains(mixer_proxy_fuzz::ORIGIN), "{message}");
        }
    }
});

fn describe(cert: &CertificateDer<'_>) {
    if let Some(summary) = summarize_certificate(cert) {
        let _ = summary.not_after_rfc3339();
        let _ = summary.remaining(std::time::SystemTime::now());
    }
    if let Some(identity) = PeerIdentity::from_certificate(cert) {
        let _ = identity.to_string();
    }
}
