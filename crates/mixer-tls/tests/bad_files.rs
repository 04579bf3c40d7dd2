//! Files that cannot be used are rejected with a message that names the file
//! and states what was found in it and what was expected.

use std::fmt::Display;
use std::path::Path;

use mixer_tls::{client_config, load_cert_chain, load_private_key, ClientTlsFiles, ServerMaterial};
use testkit::{openssl, CertSet};

/// Asserts that `message` names `path` and contains every one of `parts`.
fn assert_message(message: impl Display, path: &Path, parts: &[&str]) {
    let message = message.to_string();
    let path = path.display().to_string();
    assert!(
        message.contains(&path),
        "path {path} missing from: {message}"
    );
    for part in parts {
        assert!(message.contains(part), "{part:?} missing from: {message}");
    }
}

/// Returns the first PEM block of `text` without its END line and the rest.
fn without_end_line(text: &str) -> String {
    let end = text.find("-----END").expect("a PEM END line");
    text[..end].to_string()
}

#[test]
fn empty_key_file_is_rejected() {
    let certs = CertSet::new();
    let path = certs.write_file("empty.key", "");

    let err = load_private_key(&path).unwrap_err();

    assert_message(err, &path, &["is empty", "expected private key"]);
}

#[test]
fn whitespace_only_cert_file_is_rejected() {
    let certs = CertSet::new();
    let path = certs.write_file("blank.crt", " \n\r\n\t\n");

    let err = load_cert_chain(&path).unwrap_err();

    assert_message(err, &path, &["is empty", "expected certificate"]);
}

#[test]
fn certificate_given_as_key_is_rejected() {
    let certs = CertSet::new();

    let err = load_private_key(&certs.proxy_cert).unwrap_err();

    assert_message(
        err,
        &certs.proxy_cert,
        &["one PEM block (CERTIFICATE)", "no private key"],
    );
}

#[test]
fn key_given_as_certificate_is_rejected() {
    let certs = CertSet::new();

    let err = load_cert_chain(&certs.proxy_key).unwrap_err();

    assert_message(
        err,
        &certs.proxy_key,
        &["one PEM block (PRIVATE KEY)", "no certificate"],
    );
}

#[test]
fn key_given_as_ca_is_rejected() {
    let certs = CertSet::new();
    let mut files = certs.client_files();
    files.ca = certs.service_key.clone();

    let err = client_config(&files).unwrap_err();

    assert_message(
        err,
        &certs.service_key,
        &["one PEM block (PRIVATE KEY)", "no certificate"],
    );
}

#[test]
fn ec_parameters_without_key_are_rejected() {
    let certs = CertSet::new();
    let path = certs.write_file(
        "params.key",
        "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n",
    );

    let err = load_private_key(&path).unwrap_err();

    assert_message(
        err,
        &path,
        &["one PEM block (EC PARAMETERS)", "no private key"],
    );
}

#[test]
fn encrypted_pkcs8_key_is_rejected() {
    let certs = CertSet::new();
    openssl(
        certs.dir(),
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:x",
            "-in",
            "proxy.key",
            "-out",
            "encrypted.key",
        ],
    );
    let path = certs.dir().join("encrypted.key");

    let err = load_private_key(&path).unwrap_err();

    assert_message(
        err,
        &path,
        &["encrypted private key", "must be unencrypted"],
    );
}

#[test]
fn legacy_encrypted_pem_key_is_rejected() {
    let certs = CertSet::new();
    openssl(certs.dir(), &["genrsa", "-out", "rsa.key", "2048"]);
    openssl(
        certs.dir(),
        &[
            "rsa",
            "-aes256",
            "-traditional",
            "-passout",
            "pass:x",
            "-in",
            "rsa.key",
            "-out",
            "legacy.key",
        ],
    );
    let path = certs.dir().join("legacy.key");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("Proc-Type: 4,ENCRYPTED"), "{text}");

    let err = load_private_key(&path).unwrap_err();

    assert_message(
        err,
        &path,
        &["encrypted private key", "must be unencrypted"],
    );
}

#[test]
fn mismatched_key_is_rejected_by_client_config() {
    let certs = CertSet::new();
    let files = ClientTlsFiles {
        key: certs.proxy_key.clone(),
        ..certs.client_files()
    };

    let err = client_config(&files).unwrap_err();

    assert_message(&err, &certs.proxy_key, &["does not match certificate"]);
    assert_message(&err, &certs.service_cert, &[]);
}

#[test]
fn mismatched_key_is_rejected_by_server_material() {
    let certs = CertSet::new();
    let mut files = certs.server_files();
    files.key = certs.service_key.clone();

    let err = ServerMaterial::load(&files).unwrap_err();

    assert_message(&err, &certs.service_key, &["does not match certificate"]);
    assert_message(&err, &certs.proxy_cert, &[]);
}

#[test]
fn garbage_bytes_are_rejected_as_key_and_certificate() {
    let certs = CertSet::new();
    let bytes: Vec<u8> = (0..2048u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let path = certs.write_file("garbage.bin", bytes);

    let key_err = load_private_key(&path).unwrap_err();
    let cert_err = load_cert_chain(&path).unwrap_err();

    assert_message(key_err, &path, &["neither PEM nor DER private key"]);
    assert_message(cert_err, &path, &["neither PEM nor DER certificate"]);
}

#[test]
fn plain_text_is_rejected_as_certificate() {
    let certs = CertSet::new();
    let path = certs.write_file("notes.txt", "copy the proxy certificate here\n");

    let err = load_cert_chain(&path).unwrap_err();

    assert_message(err, &path, &["neither PEM nor DER certificate"]);
}

#[test]
fn truncated_certificate_is_rejected() {
    let certs = CertSet::new();
    let text = std::fs::read_to_string(&certs.proxy_cert).unwrap();
    let path = certs.write_file("truncated.crt", without_end_line(&text));

    let err = load_cert_chain(&path).unwrap_err();

    assert_message(
        err,
        &path,
        &["is not valid PEM", "-----END CERTIFICATE----- is missing"],
    );
}

#[test]
fn truncated_key_is_rejected() {
    let certs = CertSet::new();
    let text = std::fs::read_to_string(&certs.proxy_key).unwrap();
    let path = certs.write_file("truncated.key", without_end_line(&text));

    let err = load_private_key(&path).unwrap_err();

    assert_message(
        err,
        &path,
        &["is not valid PEM", "-----END PRIVATE KEY----- is missing"],
    );
}

#[test]
fn corrupt_base64_in_certificate_is_rejected() {
    let certs = CertSet::new();
    let text = std::fs::read_to_string(&certs.proxy_cert).unwrap();
    let second_line = text.lines().nth(1).expect("a base64 line");
    let corrupt = text.replacen(second_line, &second_line.replace('A', "*"), 1);
    assert_ne!(corrupt, text, "the base64 line has no A to replace");
    let path = certs.write_file("corrupt.crt", corrupt);

    let err = load_cert_chain(&path).unwrap_err();

    assert_message(err, &path, &["is not valid PEM", "not valid base64"]);
}

#[test]
fn malformed_begin_line_is_rejected() {
    let certs = CertSet::new();
    let text = std::fs::read_to_string(&certs.proxy_cert).unwrap();
    let broken = text.replacen(
        "-----BEGIN CERTIFICATE-----",
        "-----BEGIN CERTIFICATE---",
        1,
    );
    let path = certs.write_file("broken.crt", broken);

    let err = load_cert_chain(&path).unwrap_err();

    assert_message(
        err,
        &path,
        &["malformed BEGIN line", "-----BEGIN CERTIFICATE---"],
    );
}

#[test]
fn missing_files_are_reported_by_name() {
    let certs = CertSet::new();
    let missing = certs.dir().join("missing.pem");

    let key_err = load_private_key(&missing).unwrap_err();
    let cert_err = load_cert_chain(&missing).unwrap_err();
    let mut files = certs.server_files();
    files.client_ca = missing.clone();
    let server_err = ServerMaterial::load(&files).unwrap_err();

    assert_message(key_err, &missing, &["cannot read", "No such file"]);
    assert_message(cert_err, &missing, &["cannot read", "No such file"]);
    assert_message(server_err, &missing, &["cannot read", "No such file"]);
}
