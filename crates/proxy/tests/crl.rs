//! Certificate revocation lists: revoked clients and intermediates are
//! rejected, others pass, and a CRL that checks nothing stops start-up.

mod support;

use certgen::{Authority, LeafSpec, Usage};
use mixer_tls::rustls::{self, AlertDescription};
use proxy::cli::Args;
use proxy::config::ProxyConfig;
use proxy::Proxy;
use support::*;
use time::{Duration, OffsetDateTime};

fn next_week() -> OffsetDateTime {
    OffsetDateTime::now_utc() + Duration::days(7)
}

fn serial_of(der: &[u8]) -> Vec<u8> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("certificate");
    cert.raw_serial().to_vec()
}

fn proxy_args(pki: &Pki, upstream: std::net::SocketAddr, crls: &[&std::path::Path]) -> Vec<String> {
    let mut args = pki.tls_args();
    args.extend(route_to(upstream));
    for crl in crls {
        args.extend(["--crl".to_string(), crl.display().to_string()]);
    }
    args
}

/// Builds a client config under `intermediate` that presents leaf and
/// intermediate.
fn chained_client(pki: &Pki, intermediate: &Authority) -> std::sync::Arc<rustls::ClientConfig> {
    let leaf = intermediate
        .issue(&LeafSpec::new("desk-9", Usage::Client, 30))
        .expect("leaf");
    client_config_with_chain(
        &pki.root.cert_der(),
        vec![leaf.cert_der, intermediate.cert_der()],
        &leaf.key_pem,
        &[&rustls::version::TLS13],
    )
}

#[tokio::test]
async fn revoked_client_rejected_and_unrevoked_accepted() {
    let pki = Pki::new();
    let revoked = pki.client("desk-revoked");
    let good = pki.client("desk-good");
    let crl = pki
        .root
        .revocation_list(std::slice::from_ref(&revoked.serial), next_week())
        .expect("crl");
    let crl = pki.write("root.crl", &crl);
    let (upstream, _echo) = echo_upstream().await;
    let proxy = RunningProxy::start(&proxy_args(&pki, upstream, &[&crl]));

    let alert = rejection_alert(proxy.addr(), pki.client_config(&revoked)).await;
    assert_eq!(alert, Some(AlertDescription::CertificateRevoked));
    assert_echo_works(proxy.addr(), pki.client_config(&good)).await;
}

#[tokio::test]
async fn revoked_intermediate_rejects_its_clients() {
    let pki = Pki::new();
    let intermediate = pki
        .root
        .new_intermediate("Desk CA", 30)
        .expect("intermediate");
    let crl = pki
        .root
        .revocation_list(&[serial_of(&intermediate.cert_der())], next_week())
        .expect("crl");
    let crl = pki.write("root.crl", &crl);
    let (upstream, _echo) = echo_upstream().await;
    let proxy = RunningProxy::start(&proxy_args(&pki, upstream, &[&crl]));

    let alert = rejection_alert(proxy.addr(), chained_client(&pki, &intermediate)).await;
    assert_eq!(alert, Some(AlertDescription::CertificateRevoked));
}

#[tokio::test]
async fn issuer_without_crl_is_still_accepted() {
    let pki = Pki::new();
    let intermediate = pki
        .root
        .new_intermediate("Desk CA", 30)
        .expect("intermediate");
    let other = pki.client("someone-else");
    let crl = pki
        .root
        .revocation_list(std::slice::from_ref(&other.serial), next_week())
        .expect("crl");
    let crl = pki.write("root.crl", &crl);
    let (upstream, _echo) = echo_upstream().await;
    let proxy = RunningProxy::start(&proxy_args(&pki, upstream, &[&crl]));

    // The root's CRL covers the intermediate; nothing covers the leaf.
    assert_echo_works(proxy.addr(), chained_client(&pki, &intermediate)).await;
}

#[test]
fn crl_from_unknown_issuer_fails_startup() {
    let pki = Pki::new();
    let stranger = Authority::new_root("Stranger CA", 30).expect("root");
    let crl = stranger.revocation_list(&[], next_week()).expect("crl");
    let crl = pki.write("stranger.crl", &crl);

    let mut argv = vec!["proxy".to_string()];
    argv.extend(proxy_args(&pki, "127.0.0.1:9".parse().unwrap(), &[&crl]));
    let args = <Args as clap::Parser>::try_parse_from(argv).expect("arguments");
    let config = ProxyConfig::from_args(&args).expect("config");
    let err = Proxy::bind(config).expect_err("start-up fails").to_string();
    assert!(err.contains("stranger.crl"), "{err}");
    assert!(err.contains("CN=Stranger CA"), "{err}");
    assert!(err.contains("not a CA in"), "{err}");
}

#[test]
fn empty_crl_file_fails_startup() {
    let pki = Pki::new();
    let crl = pki.write("empty.crl", "");
    let mut argv = vec!["proxy".to_string()];
    argv.extend(proxy_args(&pki, "127.0.0.1:9".parse().unwrap(), &[&crl]));
    let args = <Args as clap::Parser>::try_parse_from(argv).expect("arguments");
    let config = ProxyConfig::from_args(&args).expect("config");
    let err = Proxy::bind(config).expect_err("start-up fails").to_string();
    assert!(err.contains("empty.crl"), "{err}");
}

#[test]
fn stale_crl_is_warned_about_and_still_enforced() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new();
    let revoked = pki.client("desk-revoked");
    let stale = OffsetDateTime::now_utc() - Duration::minutes(1);
    let crl = pki
        .root
        .revocation_list(std::slice::from_ref(&revoked.serial), stale)
        .expect("crl");
    let crl = pki.write("stale.crl", &crl);
    let fresh = pki.root.revocation_list(&[], next_week()).expect("crl");
    let fresh = pki.write("fresh.crl", &fresh);

    let args = proxy_args(&pki, "127.0.0.1:9".parse().unwrap(), &[&crl, &fresh]);
    let mut proxy = ProxyProcess::spawn(&args);
    let loaded = proxy.wait_for_line(&["CRL loaded", "fresh.crl"], STEP);
    let loaded = loaded.unwrap_or_else(|| panic!("no CRL line in {:?}", proxy.seen));
    assert!(loaded.contains("CN=Test Root CA"), "{loaded}");
    assert!(loaded.contains("next_update"), "{loaded}");
    let addr = proxy.listen_addr();
    assert!(
        proxy
            .seen
            .iter()
            .any(|l| l.contains("past its nextUpdate") && l.contains("stale.crl")),
        "no stale warning in {:?}",
        proxy.seen
    );

    let alert = runtime.block_on(rejection_alert(addr, pki.client_config(&revoked)));
    assert_eq!(alert, Some(AlertDescription::CertificateRevoked));
}
