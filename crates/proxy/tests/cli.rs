//! The built `proxy` binary: its help text and how it fails on bad input.

use std::process::{Command, Output};
use std::time::Duration;

use clap::CommandFactory;
use proxy::cli::Args;
use testkit::{run_with_timeout, CertSet};

/// Upper bound for one run of the binary; every run here ends on its own.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the proxy binary with `args` and no environment, so `PROXY_*`
/// variables of the calling shell cannot change the outcome.
fn run_proxy(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_proxy"));
    command.args(args).env_clear();
    run_with_timeout(&mut command, RUN_TIMEOUT).expect("run the proxy binary")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_lists_every_option() {
    let output = run_proxy(&["--help"]);
    let help = String::from_utf8_lossy(&output.stdout);

    assert!(output.status.success(), "{}", stderr(&output));
    let command = Args::command();
    let longs: Vec<&str> = command
        .get_arguments()
        .filter_map(|a| a.get_long())
        .collect();
    assert!(longs.len() >= 9, "too few options found: {longs:?}");
    for long in longs {
        assert!(
            help.contains(&format!("--{long}")),
            "--{long} missing from:\n{help}"
        );
    }
}

#[test]
fn help_names_environment_variables() {
    let output = run_proxy(&["--help"]);
    let help = String::from_utf8_lossy(&output.stdout);

    for variable in ["PROXY_ROUTES", "PROXY_CERT", "PROXY_KEY", "PROXY_CLIENT_CA"] {
        assert!(help.contains(variable), "{variable} missing from:\n{help}");
    }
}

#[test]
fn bad_route_exits_with_the_value() {
    let output = run_proxy(&["--route", "127.0.0.1:9000->mixer:9000"]);
    let message = stderr(&output);

    assert!(!output.status.success());
    assert!(message.contains("127.0.0.1:9000->mixer:9000"), "{message}");
    assert!(message.contains("LISTEN=UPSTREAM"), "{message}");
}

#[test]
fn missing_cert_file_exits_naming_the_file() {
    let certs = CertSet::new();
    let missing = certs.dir().join("no-such-proxy.crt");
    let output = run_proxy(&[
        "--route",
        "127.0.0.1:0=127.0.0.1:9",
        "--cert",
        missing.to_str().unwrap(),
        "--key",
        certs.proxy_key.to_str().unwrap(),
        "--client-ca",
        certs.ca_cert.to_str().unwrap(),
    ]);
    let message = stderr(&output);

    assert!(!output.status.success());
    assert!(message.contains(missing.to_str().unwrap()), "{message}");
    assert!(message.contains("cannot read"), "{message}");
}

#[test]
fn key_of_other_certificate_exits_naming_both_files() {
    let certs = CertSet::new();
    let output = run_proxy(&[
        "--route",
        "127.0.0.1:0=127.0.0.1:9",
        "--cert",
        certs.proxy_cert.to_str().unwrap(),
        "--key",
        certs.service_key.to_str().unwrap(),
        "--client-ca",
        certs.ca_cert.to_str().unwrap(),
    ]);
    let message = stderr(&output);

    assert!(!output.status.success());
    assert!(
        message.contains(certs.proxy_cert.to_str().unwrap()),
        "{message}"
    );
    assert!(
        message.contains(certs.service_key.to_str().unwrap()),
        "{message}"
    );
    assert!(message.contains("does not match"), "{message}");
}
