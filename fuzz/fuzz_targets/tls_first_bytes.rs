//! The first bytes a peer sends to a proxy listener, fed to a rustls
//! server connection built from the proxy's server config, with the
//! handshake error classified as the proxy's connection log does.
//!
//! The first input byte sets how the rest is cut into reads, because a
//! real peer's bytes arrive in pieces of any size.
#![no_main]

use std::io;

use libfuzzer_sys::fuzz_target;
use mixer_proxy_fuzz::proxy_server_config;
use mixer_tls::classify_handshake_error;
use mixer_tls::rustls::ServerConnection;

fuzz_target!(|data: &[u8]| {
    let Some((&split, mut rest)) = data.split_first() else {
        return;
    };
    let piece = usize::from(split).max(1);
    let mut conn = ServerConnection::new(proxy_server_config()).expect("config is valid");

    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(piece.min(rest.len()));
        rest = tail;
        let mut reader = chunk;
        while !reader.is_empty() {
            match conn.read_tls(&mut reader) {
                Ok(0) => break,
                Ok(_) => {}
                Err(_) => return,
            }
            if let Err(err) = conn.process_new_packets() {
                let failure =
                    classify_handshake_error(&io::Error::new(io::ErrorKind::InvalidData, err));
                assert!(!failure.reason.is_empty());
                let _ = conn.write_tls(&mut io::sink());
                return;
            }
            let _ = conn.write_tls(&mut io::sink());
        }
    }

    // Bytes that did not come from a client holding a certificate signed by
    // the CA can never finish the handshake.
    assert!(
        conn.is_handshaking() || conn.peer_certificates().is_some(),
        "handshake finished without a client certificate"
    );
});
