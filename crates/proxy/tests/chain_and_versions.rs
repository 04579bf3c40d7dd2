//! Intermediate CAs on both sides, and the lowest accepted TLS version.

mod support;

use certgen::{LeafSpec, Usage};
use clap::Parser;
use mixer_tls::rustls::{self, AlertDescription, ProtocolVersion};
use proxy::cli::Args;
use support::*;

const TLS12_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
const TLS13_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

async fn start(pki: &Pki, extra: &[&str]) -> RunningProxy {
    // Dropping the handle detaches the echo task; it ends with the runtime.
    let (upstream, _) = echo_upstream().await;
    let mut args = pki.tls_args();
    args.extend(route_to(upstream));
    args.extend(extra.iter().map(|s| s.to_string()));
    RunningProxy::start(&args)
}

fn client_with(
    pki: &Pki,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> std::sync::Arc<rustls::ClientConfig> {
    let client = pki.client("desk-1");
    client_config_with_chain(
        &pki.root.cert_der(),
        vec![client.cert_der],
        &client.key_pem,
        versions,
    )
}

#[tokio::test]
async fn client_chain_through_intermediate_is_accepted() {
    let pki = Pki::new();
    let proxy = start(&pki, &[]).await;
    let intermediate = pki
        .root
        .new_intermediate("Desk CA", 30)
        .expect("intermediate");
    let leaf = intermediate
        .issue(&LeafSpec::new("desk-7", Usage::Client, 30))
        .expect("leaf");

    let full = client_config_with_chain(
        &pki.root.cert_der(),
        vec![leaf.cert_der.clone(), intermediate.cert_der()],
        &leaf.key_pem,
        TLS13_ONLY,
    );
    assert_echo_works(proxy.addr(), full).await;

    // Without the intermediate the chain cannot be built.
    let leaf_only = client_config_with_chain(
        &pki.root.cert_der(),
        vec![leaf.cert_der],
        &leaf.key_pem,
        TLS13_ONLY,
    );
    let alert = rejection_alert(proxy.addr(), leaf_only).await;
    assert_eq!(alert, Some(AlertDescription::UnknownCA));
}

#[tokio::test]
async fn proxy_serves_its_full_chain() {
    let pki = Pki::new();
    let intermediate = pki
        .root
        .new_intermediate("Proxy CA", 30)
        .expect("intermediate");
    let server = intermediate.issue(&server_spec()).expect("server cert");
    let chain = format!("{}{}", server.cert_pem, intermediate.cert_pem());
    std::fs::write(&pki.cert, chain).expect("write chain");
    std::fs::write(&pki.key, &server.key_pem).expect("write key");

    // The client trusts only the root, so it needs the intermediate from
    // the proxy.
    let proxy = start(&pki, &[]).await;
    assert_echo_works(proxy.addr(), client_with(&pki, TLS13_ONLY)).await;
}

#[tokio::test]
async fn default_accepts_tls12_and_tls13() {
    let pki = Pki::new();
    let proxy = start(&pki, &[]).await;
    for (versions, expected) in [
        (TLS12_ONLY, ProtocolVersion::TLSv1_2),
        (TLS13_ONLY, ProtocolVersion::TLSv1_3),
    ] {
        let mut stream = connect(proxy.addr(), client_with(&pki, versions))
            .await
            .expect("handshake");
        assert_eq!(stream.get_ref().1.protocol_version(), Some(expected));
        let back = echo_round_trip(&mut stream, b"ping").await.expect("echo");
        assert_eq!(back, b"ping");
    }
}

#[tokio::test]
async fn min_tls_13_rejects_tls12_clients() {
    let pki = Pki::new();
    let proxy = start(&pki, &["--min-tls", "1.3"]).await;
    let alert = rejection_alert(proxy.addr(), client_with(&pki, TLS12_ONLY)).await;
    assert_eq!(alert, Some(AlertDescription::ProtocolVersion));
    assert_echo_works(proxy.addr(), client_with(&pki, TLS13_ONLY)).await;
}

#[test]
fn min_tls_rejects_older_versions() {
    for value in ["1.1", "1.0", "1.4", "tls1.3"] {
        let err = Args::try_parse_from(["proxy", "--min-tls", value])
            .expect_err("invalid version")
            .to_string();
        assert!(err.contains(value), "{value}: {err}");
    }
}

#[tokio::test]
async fn tls11_and_tls10_are_never_accepted() {
    let pki = Pki::new();
    let proxy = start(&pki, &[]).await;
    let addr = proxy.addr().to_string();

    // rustls has no TLS 1.1 or older, so OpenSSL, with its security level
    // lowered to allow them, plays the old client.
    for flag in ["-tls1_1", "-tls1"] {
        let addr = addr.clone();
        let output = tokio::task::spawn_blocking(move || {
            std::process::Command::new("timeout")
                .args([
                    "10",
                    "openssl",
                    "s_client",
                    flag,
                    "-cipher",
                    "DEFAULT:@SECLEVEL=0",
                ])
                .args(["-connect", &addr, "-servername", "localhost"])
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run openssl s_client")
        })
        .await
        .expect("openssl task");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !output.status.success(),
            "{flag} handshake succeeded: {text}"
        );
        // rustls rejects an old ClientHello with a handshake_failure alert.
        assert!(text.contains("alert handshake failure"), "{flag}: {text}");
        assert!(text.contains("Cipher is (NONE)"), "{flag}: {text}");
    }
}
