//! Certificates and keys made with the `openssl` command line, the way a
//! site without certgen makes them, work for both the proxy and the service.
//!
//! The recipe makes an EC P-256 CA key whose file starts with an
//! `EC PARAMETERS` block. The CA certificate is self-signed from a CSR with no
//! extensions, which OpenSSL 3.0 writes as version 1. The leaf keys are RSA
//! 2048, signed with the extensions in `certs/san-proxy.conf` and
//! `certs/san-service.conf`. These tests need `openssl` on the PATH.

use std::fs;
use std::path::{Path, PathBuf};

use mixer_tls::rustls::pki_types::PrivateKeyDer;
use mixer_tls::{ClientTlsFiles, ServerTlsFiles};
use tempfile::TempDir;
use testkit::{client_config, connect, openssl, start_mixer, start_proxy, IO_TIMEOUT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The files the openssl recipe writes, in a temporary folder.
struct OpensslCerts {
    dir: TempDir,
}

impl OpensslCerts {
    /// Runs the recipe in a fresh temporary folder, with the repository's
    /// `certs/*.conf` copied in so the commands read as they are documented.
    fn create() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let certs = Self { dir };
        fs::create_dir(certs.path("certs")).unwrap();
        for conf in ["san-proxy.conf", "san-service.conf"] {
            let source = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../certs")
                .join(conf);
            fs::copy(&source, certs.path("certs").join(conf))
                .unwrap_or_else(|err| panic!("cannot copy {}: {err}", source.display()));
        }

        // The CA: an EC key, a CSR, then a self-signed certificate.
        certs.openssl("ecparam -name prime256v1 -genkey -out CA.key");
        certs.openssl(
            "req -new -sha256 -key CA.key -subj /O=Studio/CN=mixer-proxy-CA \
             -out CA.csr",
        );
        certs.openssl("x509 -req -sha256 -days 365 -in CA.csr -signkey CA.key -out CA.crt");

        // The proxy: an RSA key first, then a CSR from the config.
        certs.openssl("genrsa -out proxy.key 2048");
        certs.openssl(
            "req -new -sha256 -key proxy.key -config certs/san-proxy.conf \
             -out proxy.csr",
        );
        certs.openssl(
            "x509 -req -in proxy.csr -CA CA.crt -CAkey CA.key -CAcreateserial -sha256 \
             -days 365 -extfile certs/san-proxy.conf -extensions req_ext -out proxy.crt",
        );

        // The service: the RSA key and the CSR in one step.
        certs.openssl(
            "req -newkey rsa:2048 -nodes -keyout service.key \
             -config certs/san-service.conf -out service.csr",
        );
        certs.openssl(
            "x509 -req -in service.csr -CA CA.crt -CAkey CA.key -CAcreateserial -sha256 \
             -days 365 -extfile certs/san-service.conf -extensions req_ext -out service.crt",
        );
        certs
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn server_files(&self) -> ServerTlsFiles {
        ServerTlsFiles {
            cert: self.path("proxy.crt"),
            key: self.path("proxy.key"),
            client_ca: self.path("CA.crt"),
            crls: Vec::new(),
        }
    }

    fn client_files(&self) -> ClientTlsFiles {
        ClientTlsFiles {
            cert: self.path("service.crt"),
            key: self.path("service.key"),
            ca: self.path("CA.crt"),
        }
    }

    /// Runs `openssl` in the folder of these files. `command` is split at
    /// whitespace, so no argument may contain a space.
    fn openssl(&self, command: &str) {
        let args: Vec<&str> = command.split_whitespace().collect();
        openssl(self.dir.path(), &args);
    }
}

/// Starts a mixer and a proxy with `server`, connects with `client` and
/// checks an echo round trip.
async fn assert_round_trip(server: ServerTlsFiles, client: ClientTlsFiles) {
    let mixer = start_mixer().await;
    let proxy = start_proxy(server, mixer.addr).await;
    let mut stream = connect(proxy.addr, client_config(&client))
        .await
        .expect("handshake with openssl-made certificates");

    stream.write_all(b"fader 3 to -6 dB").await.unwrap();
    let mut echo = [0u8; 16];
    tokio::time::timeout(IO_TIMEOUT, stream.read_exact(&mut echo))
        .await
        .expect("echo within the timeout")
        .expect("echo through the proxy");
    assert_eq!(&echo, b"fader 3 to -6 dB");
}

/// Rewrites a PEM file with CRLF line endings and a UTF-8 byte-order mark,
/// as some Windows editors save it.
fn to_crlf_with_bom(from: &Path, to: &Path) {
    let text = fs::read_to_string(from).unwrap();
    let mut converted = "\u{feff}".to_string();
    converted.push_str(&text.replace('\n', "\r\n"));
    fs::write(to, converted).unwrap();
}

#[tokio::test]
async fn openssl_recipe_certs_complete_handshake() {
    let certs = OpensslCerts::create();
    assert_round_trip(certs.server_files(), certs.client_files()).await;
}

#[test]
fn ca_key_with_ec_parameters_block_loads() {
    let certs = OpensslCerts::create();
    let text = fs::read_to_string(certs.path("CA.key")).unwrap();
    assert!(text.starts_with("-----BEGIN EC PARAMETERS-----"), "{text}");

    let key = mixer_tls::load_private_key(&certs.path("CA.key")).unwrap();

    assert!(matches!(key, PrivateKeyDer::Sec1(_)), "{key:?}");
}

#[tokio::test]
async fn crlf_files_with_bom_complete_handshake() {
    let certs = OpensslCerts::create();
    for name in [
        "CA.crt",
        "proxy.crt",
        "proxy.key",
        "service.crt",
        "service.key",
    ] {
        to_crlf_with_bom(&certs.path(name), &certs.path(&format!("crlf-{name}")));
    }

    let server = ServerTlsFiles {
        cert: certs.path("crlf-proxy.crt"),
        key: certs.path("crlf-proxy.key"),
        client_ca: certs.path("crlf-CA.crt"),
        crls: Vec::new(),
    };
    let client = ClientTlsFiles {
        cert: certs.path("crlf-service.crt"),
        key: certs.path("crlf-service.key"),
        ca: certs.path("crlf-CA.crt"),
    };
    assert_round_trip(server, client).await;
}

#[tokio::test]
async fn pkcs8_and_pkcs1_keys_complete_handshake() {
    let certs = OpensslCerts::create();
    certs.openssl("pkcs8 -topk8 -nocrypt -in proxy.key -out proxy.pk8");
    certs.openssl("rsa -traditional -in service.key -out service.pk1");
    let pkcs1 = fs::read_to_string(certs.path("service.pk1")).unwrap();
    assert!(
        pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"),
        "{pkcs1}"
    );

    let mut server = certs.server_files();
    server.key = certs.path("proxy.pk8");
    let mut client = certs.client_files();
    client.key = certs.path("service.pk1");
    assert_round_trip(server, client).await;
}

#[test]
fn ca_key_as_pkcs8_loads() {
    let certs = OpensslCerts::create();
    certs.openssl("pkcs8 -topk8 -nocrypt -in CA.key -out CA.pk8");

    let key = mixer_tls::load_private_key(&certs.path("CA.pk8")).unwrap();

    assert!(matches!(key, PrivateKeyDer::Pkcs8(_)), "{key:?}");
}

#[tokio::test]
async fn der_files_complete_handshake() {
    let certs = OpensslCerts::create();
    for name in ["CA", "proxy", "service"] {
        certs.openssl(&format!(
            "x509 -in {name}.crt -outform DER -out {name}.crt.der"
        ));
    }
    for name in ["proxy", "service"] {
        certs.openssl(&format!(
            "pkey -in {name}.key -outform DER -out {name}.key.der"
        ));
    }

    let server = ServerTlsFiles {
        cert: certs.path("proxy.crt.der"),
        key: certs.path("proxy.key.der"),
        client_ca: certs.path("CA.crt.der"),
        crls: Vec::new(),
    };
    let client = ClientTlsFiles {
        cert: certs.path("service.crt.der"),
        key: certs.path("service.key.der"),
        ca: certs.path("CA.crt.der"),
    };
    assert_round_trip(server, client).await;
}
