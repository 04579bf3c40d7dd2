//! Access rules on the client certificate: each kind of rule admits the
//! matching client and turns the others away with an access_denied alert.

mod support;

use certgen::{LeafSpec, Usage};
use mixer_tls::rustls::AlertDescription;
use support::*;

/// A client certificate with every kind of name a rule can match.
fn desk_spec(cn: &str, ou: &str, dns: &str, uri: &str) -> LeafSpec {
    let mut spec = LeafSpec::new(cn, Usage::Client, 30);
    spec.organizational_unit = Some(ou.to_string());
    spec.dns_names.push(dns.to_string());
    spec.uris.push(uri.to_string());
    spec
}

fn desk_one() -> LeafSpec {
    desk_spec(
        "desk-1.studio",
        "mixing",
        "desk-1.studio.example",
        "spiffe://studio.example/service/desk-1",
    )
}

fn intruder() -> LeafSpec {
    desk_spec(
        "intruder.lab",
        "guests",
        "intruder.lab.example",
        "spiffe://lab.example/service/intruder",
    )
}

/// Starts a proxy with `rules`, then checks that `desk-1` gets through and
/// the intruder is denied with access_denied.
async fn check_rules(rules: &[&str]) {
    let pki = Pki::new();
    let (upstream, _echo) = echo_upstream().await;
    let mut args = pki.tls_args();
    args.extend(route_to(upstream));
    for rule in rules {
        args.extend(["--allow".to_string(), rule.to_string()]);
    }
    let proxy = RunningProxy::start(&args);

    let allowed = pki.root.issue(&desk_one()).expect("desk cert");
    assert_echo_works(proxy.addr(), pki.client_config(&allowed)).await;

    let denied = pki.root.issue(&intruder()).expect("intruder cert");
    let alert = rejection_alert(proxy.addr(), pki.client_config(&denied)).await;
    assert_eq!(
        alert,
        Some(AlertDescription::AccessDenied),
        "rules {rules:?}"
    );
}

#[tokio::test]
async fn common_name_rules() {
    check_rules(&["cn:desk-1.studio"]).await;
    check_rules(&["cn:*.studio"]).await;
}

#[tokio::test]
async fn organizational_unit_rule() {
    check_rules(&["ou:mixing"]).await;
}

#[tokio::test]
async fn dns_name_rules() {
    check_rules(&["dns:desk-1.studio.example"]).await;
    check_rules(&["dns:*.studio.example"]).await;
}

#[tokio::test]
async fn uri_rules() {
    check_rules(&["uri:spiffe://studio.example/service/desk-1"]).await;
    check_rules(&["uri:spiffe://studio.example/service/*"]).await;
}

#[tokio::test]
async fn spiffe_trust_domain_rule() {
    check_rules(&["spiffe:studio.example"]).await;
}

#[tokio::test]
async fn any_rule_of_several_admits() {
    check_rules(&["cn:nobody", "spiffe:studio.example"]).await;
}

#[tokio::test]
async fn no_rules_admit_any_client_of_the_ca() {
    let pki = Pki::new();
    let (upstream, _echo) = echo_upstream().await;
    let mut args = pki.tls_args();
    args.extend(route_to(upstream));
    let proxy = RunningProxy::start(&args);

    let other = pki.root.issue(&intruder()).expect("cert");
    assert_echo_works(proxy.addr(), pki.client_config(&other)).await;
}

#[tokio::test]
async fn scoped_rule_applies_to_its_route() {
    let pki = Pki::new();
    let (upstream, _echo) = echo_upstream().await;
    let mut args = pki.tls_args();
    args.extend(route_to(upstream));
    args.extend(["--allow".into(), "127.0.0.1:0=cn:desk-1.studio".into()]);
    let proxy = RunningProxy::start(&args);

    let allowed = pki.root.issue(&desk_one()).expect("desk cert");
    assert_echo_works(proxy.addr(), pki.client_config(&allowed)).await;
    let denied = pki.root.issue(&intruder()).expect("intruder cert");
    let alert = rejection_alert(proxy.addr(), pki.client_config(&denied)).await;
    assert_eq!(alert, Some(AlertDescription::AccessDenied));
}

#[test]
fn denial_is_logged_with_identity_and_rule() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new();
    let mut args = pki.tls_args();
    args.extend(["--route", "127.0.0.1:0=127.0.0.1:9", "--allow", "ou:mixing"].map(String::from));
    let mut proxy = ProxyProcess::spawn(&args);
    let addr = proxy.listen_addr();

    let denied = pki.root.issue(&intruder()).expect("intruder cert");
    let alert = runtime.block_on(rejection_alert(addr, pki.client_config(&denied)));
    assert_eq!(alert, Some(AlertDescription::AccessDenied));

    let line = proxy.wait_for_line(&["connection rejected"], STEP);
    let line = line.unwrap_or_else(|| panic!("no rejection line in {:?}", proxy.seen));
    assert!(line.contains("CN=intruder.lab"), "{line}");
    assert!(line.contains("allowlist ou:mixing"), "{line}");
}
