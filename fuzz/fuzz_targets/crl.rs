//! CRL files: PEM and DER parsing, then the CRL parsing rustls's client
//! certificate verifier does when the server config is built.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mixer_proxy_fuzz::{bundle, origin};
use mixer_tls::rustls::server::WebPkiClientVerifier;
use mixer_tls::rustls::RootCertStore;
use mixer_tls::{load_cert_chain, parse_crls};

fuzz_target!(|data: &[u8]| {
    match parse_crls(data, origin()) {
        Ok(crls) => {
            assert!(!crls.is_empty(), "a parsed CRL list is never empty");
            let _ = WebPkiClientVerifier::builder_with_provider(
                roots().clone(),
                mixer_tls::crypto_provider(),
            )
            .with_crls(crls)
            .build();
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.contains(mixer_proxy_fuzz::ORIGIN), "{message}");
        }
    }
});

fn roots() -> &'static std::sync::Arc<RootCertStore> {
    static ROOTS: OnceLock<std::sync::Arc<RootCertStore>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let ca = load_cert_chain(&bundle().dir.join("ca.crt")).expect("certgen CA loads");
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(ca);
        std::sync::Arc::new(roots)
    })
}
