//! Hot reload of the TLS files: by call, by SIGHUP and by file change, with
//! broken files rejected while the old material keeps serving.

mod support;

use std::path::Path;
use std::time::Duration;

use certgen::Issued;
use clap::Parser;
use proxy::cli::Args;
use proxy::config::ProxyConfig;
use proxy::Proxy;
use support::*;
use tokio_util::sync::CancellationToken;

/// An in-process proxy with its reload handle.
struct Reloadable {
    addr: std::net::SocketAddr,
    reloader: proxy::TlsReloader,
    shutdown: CancellationToken,
}

async fn start(pki: &Pki, extra: &[&str]) -> Reloadable {
    let (upstream, _) = echo_upstream().await;
    let mut argv = vec!["proxy".to_string()];
    argv.extend(pki.tls_args());
    argv.extend(route_to(upstream));
    argv.extend(["--reload-debounce", "100ms"].map(String::from));
    argv.extend(extra.iter().map(|s| s.to_string()));
    let config =
        ProxyConfig::from_args(&Args::try_parse_from(argv).expect("args")).expect("config");
    let proxy = Proxy::bind(config).expect("bind");
    let addr = proxy.local_addrs()[0];
    let reloader = proxy.tls_reloader();
    let shutdown = CancellationToken::new();
    tokio::spawn(proxy.run(shutdown.clone()));
    Reloadable {
        addr,
        reloader,
        shutdown,
    }
}

impl Drop for Reloadable {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Issues a new proxy certificate from the same root.
fn new_server_cert(pki: &Pki) -> Issued {
    pki.root.issue(&server_spec()).expect("server cert")
}

/// Connects and returns the leaf certificate the proxy presented.
async fn served_leaf(pki: &Pki, addr: std::net::SocketAddr) -> Vec<u8> {
    let stream = connect(addr, pki.client_config(&pki.client("desk-1")))
        .await
        .expect("handshake");
    let (_, session) = stream.get_ref();
    session.peer_certificates().expect("server certs")[0].to_vec()
}

/// Polls until the proxy serves `expected`, bounded by [`STEP`].
async fn wait_for_leaf(pki: &Pki, addr: std::net::SocketAddr, expected: &[u8]) {
    for _ in 0..100 {
        if served_leaf(pki, addr).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the new certificate was not served within 10 s");
}

fn write_pair(cert: &Path, key: &Path, issued: &Issued) {
    std::fs::write(cert, &issued.cert_pem).expect("write cert");
    std::fs::write(key, &issued.key_pem).expect("write key");
}

#[tokio::test]
async fn reload_swaps_material_and_keeps_open_connections() {
    let pki = Pki::new();
    let proxy = start(&pki, &[]).await;
    let old_leaf = served_leaf(&pki, proxy.addr).await;

    let mut open = connect(proxy.addr, pki.client_config(&pki.client("desk-1")))
        .await
        .expect("handshake");
    let renewed = new_server_cert(&pki);
    write_pair(&pki.cert, &pki.key, &renewed);
    proxy.reloader.reload().expect("reload");

    assert_eq!(served_leaf(&pki, proxy.addr).await, renewed.cert_der);
    assert_ne!(renewed.cert_der, old_leaf);
    let back = echo_round_trip(&mut open, b"still here")
        .await
        .expect("echo");
    assert_eq!(back, b"still here");
}

#[tokio::test]
async fn broken_files_are_rejected_and_old_material_serves() {
    let pki = Pki::new();
    let proxy = start(&pki, &[]).await;
    let original_leaf = served_leaf(&pki, proxy.addr).await;
    let original_cert = std::fs::read_to_string(&pki.cert).expect("cert");
    let original_key = std::fs::read_to_string(&pki.key).expect("key");

    let other = new_server_cert(&pki);
    let mut expired_spec = server_spec();
    expired_spec.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(10);
    expired_spec.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    let expired = pki.root.issue(&expired_spec).expect("expired cert");
    let half = &other.cert_pem[..other.cert_pem.len() / 2];

    let cases: [(&str, &str, &str, &str); 4] = [
        ("half-written", half, &original_key, "proxy.crt"),
        (
            "wrong key",
            &other.cert_pem,
            &original_key,
            "does not match",
        ),
        (
            "unparsable",
            "not a certificate at all",
            &original_key,
            "proxy.crt",
        ),
        (
            "expired leaf",
            &expired.cert_pem,
            &expired.key_pem,
            "expired",
        ),
    ];
    for (case, cert, key, expected) in cases {
        std::fs::write(&pki.cert, cert).expect("write cert");
        std::fs::write(&pki.key, key).expect("write key");
        let err = proxy.reloader.reload().expect_err(case).to_string();
        assert!(err.contains(expected), "{case}: {err}");
        assert!(err.contains("proxy.crt"), "{case}: {err}");
        assert_eq!(served_leaf(&pki, proxy.addr).await, original_leaf, "{case}");
    }

    // Restoring the files makes the next reload succeed.
    std::fs::write(&pki.cert, original_cert).expect("restore cert");
    std::fs::write(&pki.key, original_key).expect("restore key");
    proxy.reloader.reload().expect("reload of restored files");
}

#[tokio::test]
async fn cert_then_key_write_is_picked_up() {
    let pki = Pki::new();
    let proxy = start(&pki, &[]).await;
    let renewed = new_server_cert(&pki);

    // The key follows the certificate a moment later, as a copy tool would.
    std::fs::write(&pki.cert, &renewed.cert_pem).expect("cert");
    tokio::time::sleep(Duration::from_millis(150)).await;
    std::fs::write(&pki.key, &renewed.key_pem).expect("key");
    wait_for_leaf(&pki, proxy.addr, &renewed.cert_der).await;
}

#[tokio::test]
async fn atomic_rename_is_picked_up() {
    let pki = Pki::new();
    let proxy = start(&pki, &[]).await;
    let renewed = new_server_cert(&pki);

    let cert_tmp = pki.write(".proxy.crt.tmp", &renewed.cert_pem);
    let key_tmp = pki.write(".proxy.key.tmp", &renewed.key_pem);
    std::fs::rename(&key_tmp, &pki.key).expect("rename key");
    std::fs::rename(&cert_tmp, &pki.cert).expect("rename cert");
    wait_for_leaf(&pki, proxy.addr, &renewed.cert_der).await;
}

#[tokio::test]
async fn kubernetes_symlink_swap_is_picked_up() {
    // The layout of a Kubernetes secret volume: the files are symlinks
    // through `..data`, which points at a timestamped directory and is
    // replaced by an atomic rename on update.
    let pki = Pki::new();
    let volume = pki.dir.path().join("volume");
    let first = volume.join("..2026_01_01");
    std::fs::create_dir_all(&first).expect("mkdir");
    std::fs::copy(&pki.cert, first.join("tls.crt")).expect("copy cert");
    std::fs::copy(&pki.key, first.join("tls.key")).expect("copy key");
    std::fs::copy(&pki.ca, first.join("ca.crt")).expect("copy ca");
    std::os::unix::fs::symlink("..2026_01_01", volume.join("..data")).expect("link");
    for name in ["tls.crt", "tls.key", "ca.crt"] {
        std::os::unix::fs::symlink(format!("..data/{name}"), volume.join(name)).expect("link");
    }

    let (upstream, _) = echo_upstream().await;
    let mut argv = vec!["proxy".to_string()];
    for (flag, name) in [
        ("--cert", "tls.crt"),
        ("--key", "tls.key"),
        ("--client-ca", "ca.crt"),
    ] {
        argv.extend([flag.to_string(), volume.join(name).display().to_string()]);
    }
    argv.extend(route_to(upstream));
    argv.extend(["--reload-debounce", "100ms"].map(String::from));
    let config =
        ProxyConfig::from_args(&Args::try_parse_from(argv).expect("args")).expect("config");
    let proxy = Proxy::bind(config).expect("bind");
    let addr = proxy.local_addrs()[0];
    let shutdown = CancellationToken::new();
    tokio::spawn(proxy.run(shutdown.clone()));
    let _stop = shutdown.drop_guard();

    let renewed = new_server_cert(&pki);
    let second = volume.join("..2026_02_01");
    std::fs::create_dir_all(&second).expect("mkdir");
    std::fs::write(second.join("tls.crt"), &renewed.cert_pem).expect("cert");
    std::fs::write(second.join("tls.key"), &renewed.key_pem).expect("key");
    std::fs::copy(&pki.ca, second.join("ca.crt")).expect("copy ca");
    std::os::unix::fs::symlink("..2026_02_01", volume.join("..data_tmp")).expect("link");
    std::fs::rename(volume.join("..data_tmp"), volume.join("..data")).expect("swap");

    wait_for_leaf(&pki, addr, &renewed.cert_der).await;
}

#[test]
fn sighup_reloads_the_binary() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let pki = Pki::new();
    let mut args = pki.tls_args();
    // A debounce of an hour keeps the file watcher out of this test, so
    // only the signal can load the new files in time.
    args.extend(
        [
            "--route",
            "127.0.0.1:0=127.0.0.1:9",
            "--expiry-warning",
            "60d",
            "--reload-debounce",
            "1h",
        ]
        .map(String::from),
    );
    let mut proxy = ProxyProcess::spawn(&args);

    // Certificates valid for 30 days fall inside a 60-day warning window.
    let soon = proxy.wait_for_line(&["certificate expires soon", "CN=proxy"], STEP);
    assert!(soon.is_some(), "no expiry warning in {:?}", proxy.seen);
    let addr = proxy.listen_addr();

    let renewed = new_server_cert(&pki);
    write_pair(&pki.cert, &pki.key, &renewed);
    proxy.signal("HUP");

    let reloaded = proxy.wait_for_line(&["TLS material reloaded", "SIGHUP"], STEP);
    assert!(reloaded.is_some(), "no reload line in {:?}", proxy.seen);
    runtime.block_on(wait_for_leaf(&pki, addr, &renewed.cert_der));
}

#[test]
fn broken_file_change_is_logged_with_the_file() {
    let pki = Pki::new();
    let mut args = pki.tls_args();
    args.extend(
        [
            "--route",
            "127.0.0.1:0=127.0.0.1:9",
            "--reload-debounce",
            "50ms",
        ]
        .map(String::from),
    );
    let mut proxy = ProxyProcess::spawn(&args);
    let _ = proxy.listen_addr();

    std::fs::write(&pki.cert, "garbage").expect("write");
    let failed = proxy.wait_for_line(&["keeping the previous material", "proxy.crt"], STEP);
    assert!(failed.is_some(), "no error line in {:?}", proxy.seen);
}

#[tokio::test]
async fn expired_client_ca_is_reported_clearly() {
    let pki = Pki::new();
    let now = time::OffsetDateTime::now_utc();
    let old_root = certgen::Authority::new_root_valid(
        "Retired Root CA",
        now - time::Duration::days(30),
        now - time::Duration::days(1),
    )
    .expect("root");
    let bundle = format!("{}{}", pki.root.cert_pem(), old_root.cert_pem());
    std::fs::write(&pki.ca, bundle).expect("write bundle");

    let mut args = pki.tls_args();
    args.extend(["--route", "127.0.0.1:0=127.0.0.1:9"].map(String::from));
    let mut proxy = ProxyProcess::spawn(&args);
    let line = proxy.wait_for_line(&["client CA has expired", "Retired Root CA"], STEP);
    assert!(line.is_some(), "no expired CA line in {:?}", proxy.seen);
}
