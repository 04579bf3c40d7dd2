//! Private key files (`--key`): PEM and DER parsing, then the key loading
//! the crypto provider does before a server or client config is built.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mixer_proxy_fuzz::origin;
use mixer_tls::parse_private_key;

fuzz_target!(|data: &[u8]| {
    match parse_private_key(data, origin()) {
        Ok(key) => {
            let provider = mixer_tls::crypto_provider();
            let _ = provider.key_provider.load_private_key(key);
        }
        Err(err) => {
            let message = err.to_string();
            assert!(message.contains(mixer_proxy_fuzz::ORIGIN), "{message}");
        }
    }
});
