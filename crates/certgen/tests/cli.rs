//! The built `certgen` binary: the files it writes, their modes, and how it
//! treats files that already exist.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use mixer_tls::{ClientTlsFiles, ServerTlsFiles};
use testkit::{client_config, connect, run_with_timeout, start_mixer, start_proxy, IO_TIMEOUT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Upper bound for one run of the binary; key generation takes milliseconds.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

const FILES: [&str; 6] = [
    "ca.crt",
    "ca.key",
    "proxy.crt",
    "proxy.key",
    "service.crt",
    "service.key",
];

fn run_certgen(out: &Path, extra: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_certgen"));
    command.arg("--out").arg(out).args(extra).env_clear();
    run_with_timeout(&mut command, RUN_TIMEOUT).expect("run the certgen binary")
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn read_all(dir: &Path) -> Vec<Vec<u8>> {
    FILES
        .iter()
        .map(|name| fs::read(dir.join(name)).unwrap())
        .collect()
}

#[test]
fn writes_six_files_with_private_keys() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("certs");

    let output = run_certgen(&out, &[]);

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut written: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected = FILES.map(String::from).to_vec();
    expected.sort();
    assert_eq!(written, expected);
    for key in ["ca.key", "proxy.key", "service.key"] {
        assert_eq!(mode(&out.join(key)), 0o600, "{key}");
    }
}

#[test]
fn existing_files_are_kept_without_force() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run_certgen(dir.path(), &[]).status.success());
    let before = read_all(dir.path());

    let output = run_certgen(dir.path(), &[]);
    let message = String::from_utf8_lossy(&output.stderr);

    assert!(!output.status.success());
    assert!(message.contains("already exists"), "{message}");
    assert!(message.contains("--force"), "{message}");
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
    assert!(
        read_all(dir.path()) == before,
        "files changed without --force"
    );
}

#[test]
fn force_replaces_every_file() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run_certgen(dir.path(), &[]).status.success());
    let before = read_all(dir.path());

    let output = run_certgen(dir.path(), &["--force"]);

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let after = read_all(dir.path());
    for ((name, old), new) in FILES.iter().zip(&before).zip(&after) {
        assert_ne!(old, new, "{name} was not replaced");
    }
    assert_eq!(mode(&dir.path().join("proxy.key")), 0o600);
}

#[tokio::test]
async fn written_files_complete_a_handshake() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run_certgen(dir.path(), &[]).status.success());
    let path = |name: &str| dir.path().join(name);

    let mixer = start_mixer().await;
    let server = ServerTlsFiles {
        cert: path("proxy.crt"),
        key: path("proxy.key"),
        client_ca: path("ca.crt"),
        crls: Vec::new(),
    };
    let proxy = start_proxy(server, mixer.addr).await;
    let client = ClientTlsFiles {
        cert: path("service.crt"),
        key: path("service.key"),
        ca: path("ca.crt"),
    };
    let mut stream = connect(proxy.addr, client_config(&client)).await.unwrap();

    stream.write_all(b"mute bus 2").await.unwrap();
    let mut echo = [0u8; 10];
    tokio::time::timeout(IO_TIMEOUT, stream.read_exact(&mut echo))
        .await
        .expect("echo within the timeout")
        .unwrap();
    assert_eq!(&echo, b"mute bus 2");
}
