//! Which clients the proxy admits: a trusted certificate gets through, and
//! every other client is turned away during the handshake without a byte
//! reaching the upstream.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use mixer_tls::rustls::{AlertDescription, CertificateError, ClientConfig, Error as TlsError};
use testkit::{
    capture_logs, client_config, client_config_without_certificate, connect, connect_as,
    expect_rejection, proxy_config, start_counting_echo, start_proxy, start_proxy_with,
    start_stack, CertSet, CountingEcho, Running, IO_TIMEOUT,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Starts a proxy in front of an upstream that counts what reaches it.
async fn counted_proxy(certs: &CertSet) -> (Running, CountingEcho) {
    let upstream = start_counting_echo().await;
    let proxy = start_proxy(certs.server_files(), upstream.addr).await;
    (proxy, upstream)
}

/// Returns the TLS error inside an I/O error from tokio-rustls.
fn tls_error(err: &io::Error) -> &TlsError {
    err.get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsError>())
        .unwrap_or_else(|| panic!("expected a TLS error, got: {err}"))
}

/// Expects the proxy of `certs` to turn the client away with `alert` and
/// checks that nothing reached the upstream.
async fn assert_rejected_with(certs: &CertSet, config: Arc<ClientConfig>, alert: AlertDescription) {
    let (proxy, upstream) = counted_proxy(certs).await;

    let err = expect_rejection(proxy.addr, config).await;

    assert_eq!(tls_error(&err), &TlsError::AlertReceived(alert), "{err}");
    assert_eq!(upstream.connections(), 0, "the proxy connected upstream");
    assert_eq!(upstream.bytes_received(), 0, "bytes reached the upstream");
}

#[tokio::test]
async fn trusted_client_round_trips_bytes() {
    let certs = CertSet::new();
    let stack = start_stack(&certs).await;
    let mut stream = connect(stack.proxy.addr, client_config(&certs.client_files()))
        .await
        .expect("handshake with a trusted client certificate");

    let message = b"level check on channel 7";
    stream.write_all(message).await.unwrap();
    let mut echo = vec![0u8; message.len()];
    tokio::time::timeout(IO_TIMEOUT, stream.read_exact(&mut echo))
        .await
        .expect("echo within the timeout")
        .unwrap();
    assert_eq!(echo, message);

    stream.shutdown().await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(IO_TIMEOUT, stream.read_to_end(&mut rest))
        .await
        .expect("end of stream within the timeout")
        .expect("close_notify from the proxy");
    assert!(rest.is_empty(), "unexpected bytes after the echo: {rest:?}");
}

#[tokio::test]
async fn trusted_client_reaches_upstream() {
    let certs = CertSet::new();
    let (proxy, upstream) = counted_proxy(&certs).await;
    let mut stream = connect(proxy.addr, client_config(&certs.client_files()))
        .await
        .unwrap();

    stream.write_all(b"0123456789").await.unwrap();
    let mut echo = [0u8; 10];
    tokio::time::timeout(IO_TIMEOUT, stream.read_exact(&mut echo))
        .await
        .unwrap()
        .unwrap();

    assert_eq!(&echo, b"0123456789");
    assert_eq!(upstream.connections(), 1);
    assert_eq!(upstream.bytes_received(), 10);
}

#[tokio::test]
async fn client_without_certificate_is_rejected() {
    let certs = CertSet::new();
    let config = client_config_without_certificate(&certs.ca_cert);
    assert_rejected_with(&certs, config, AlertDescription::CertificateRequired).await;
}

#[tokio::test]
async fn client_cert_from_other_ca_is_rejected() {
    let certs = CertSet::new();
    let config = client_config(&certs.foreign_client());
    assert_rejected_with(&certs, config, AlertDescription::UnknownCA).await;
}

#[tokio::test]
async fn client_cert_from_same_named_ca_is_rejected() {
    let certs = CertSet::new();
    let config = client_config(&certs.impostor_client());
    assert_rejected_with(&certs, config, AlertDescription::DecryptError).await;
}

#[tokio::test]
async fn expired_client_cert_is_rejected() {
    let certs = CertSet::new();
    let config = client_config(&certs.expired_client());
    assert_rejected_with(&certs, config, AlertDescription::CertificateExpired).await;
}

#[tokio::test]
async fn client_rejects_proxy_cert_for_other_name() {
    let certs = CertSet::new();
    let (proxy, upstream) = counted_proxy(&certs).await;
    let config = client_config(&certs.client_files());

    let err = connect_as(proxy.addr, config, "mixer.example")
        .await
        .expect_err("the proxy certificate does not name mixer.example");

    assert!(
        matches!(
            tls_error(&err),
            TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
            )
        ),
        "{err}"
    );
    assert_eq!(
        mixer_tls::classify_handshake_error(&err).reason,
        "name_mismatch"
    );
    assert_eq!(upstream.connections(), 0, "the proxy connected upstream");
}

#[tokio::test]
async fn client_rejects_proxy_cert_from_other_ca() {
    let certs = CertSet::new();
    let other = CertSet::new();
    let (proxy, upstream) = counted_proxy(&certs).await;
    let mut files = certs.client_files();
    files.ca = other.ca_cert.clone();

    let err = connect(proxy.addr, client_config(&files))
        .await
        .expect_err("the client does not trust the proxy's CA");

    assert_eq!(
        tls_error(&err),
        &TlsError::InvalidCertificate(CertificateError::UnknownIssuer)
    );
    assert_eq!(upstream.connections(), 0, "the proxy connected upstream");
}

#[tokio::test]
async fn proxy_keeps_serving_after_rejections() {
    let certs = CertSet::new();
    let (proxy, upstream) = counted_proxy(&certs).await;
    for _ in 0..3 {
        expect_rejection(proxy.addr, client_config(&certs.foreign_client())).await;
    }

    let mut stream = connect(proxy.addr, client_config(&certs.client_files()))
        .await
        .expect("handshake after the rejections");
    stream.write_all(b"still here").await.unwrap();
    let mut echo = [0u8; 10];
    tokio::time::timeout(IO_TIMEOUT, stream.read_exact(&mut echo))
        .await
        .expect("echo within the timeout")
        .unwrap();

    assert_eq!(&echo, b"still here");
    assert_eq!(upstream.connections(), 1);
}

#[tokio::test]
async fn plain_tcp_client_is_rejected() {
    let certs = CertSet::new();
    let (proxy, upstream) = counted_proxy(&certs).await;
    let mut socket = TcpStream::connect(proxy.addr).await.unwrap();

    socket
        .write_all(b"GET / HTTP/1.1\r\nHost: mixer\r\n\r\n")
        .await
        .unwrap();
    let mut reply = Vec::new();
    let read = tokio::time::timeout(IO_TIMEOUT, socket.read_to_end(&mut reply))
        .await
        .expect("the proxy closes within the timeout");

    // The proxy replies with at most a TLS alert record (type 21) and then
    // closes. A reset instead of a FIN counts as a close too.
    if read.is_ok() && !reply.is_empty() {
        assert_eq!(reply[0], 21, "not a TLS alert: {reply:?}");
    }
    assert_eq!(upstream.connections(), 0, "the proxy connected upstream");
}

#[tokio::test]
async fn silent_client_is_dropped_after_handshake_timeout() {
    let certs = CertSet::new();
    let upstream = start_counting_echo().await;
    let mut config = proxy_config(certs.server_files(), upstream.addr);
    config.handshake_timeout = Duration::from_millis(200);
    let proxy = start_proxy_with(config).await;
    let mut socket = TcpStream::connect(proxy.addr).await.unwrap();

    let mut reply = Vec::new();
    let read = tokio::time::timeout(IO_TIMEOUT, socket.read_to_end(&mut reply))
        .await
        .expect("the proxy closes a silent client within the timeout");

    assert!(read.is_ok(), "{read:?}");
    assert!(reply.is_empty(), "unexpected bytes: {reply:?}");
    assert_eq!(upstream.connections(), 0, "the proxy connected upstream");
}

#[tokio::test]
async fn rejected_client_is_logged_with_identity_and_reason() {
    let logs = capture_logs();
    let certs = CertSet::new();
    let (proxy, upstream) = counted_proxy(&certs).await;

    expect_rejection(proxy.addr, client_config(&certs.foreign_client())).await;
    // Only this test's lines contain the address of its own upstream.
    let upstream_addr = format!("={}", upstream.addr);
    let line = logs
        .wait_for_line(&[&upstream_addr, "connection rejected"], IO_TIMEOUT)
        .await;

    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("CN=foreign"), "{line}");
    assert!(line.contains("unknown_ca"), "{line}");
}

#[tokio::test]
async fn client_without_certificate_is_logged_with_reason() {
    let logs = capture_logs();
    let certs = CertSet::new();
    let (proxy, upstream) = counted_proxy(&certs).await;

    expect_rejection(
        proxy.addr,
        client_config_without_certificate(&certs.ca_cert),
    )
    .await;
    // Only this test's lines contain the address of its own upstream.
    let upstream_addr = format!("={}", upstream.addr);
    let line = logs
        .wait_for_line(&[&upstream_addr, "connection rejected"], IO_TIMEOUT)
        .await;

    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("no_client_cert"), "{line}");
}
