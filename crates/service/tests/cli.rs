//! The built `service` binary: its help text and how it fails on bad input.

use std::process::{Command, Output};
use std::time::Duration;

use clap::CommandFactory;
use service::cli::Args;
use testkit::{run_with_timeout, CertSet};

/// Upper bound for one run of the binary; every run here ends on its own.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the service binary with `args` and no environment, so `SERVICE_*`
/// variables of the calling shell cannot change the outcome.
fn run_service(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_service"));
    command.args(args).env_clear();
    run_with_timeout(&mut command, RUN_TIMEOUT).expect("run the service binary")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn help_lists_every_option() {
    let output = run_service(&["--help"]);
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
fn bad_connect_address_exits_with_the_value() {
    let output = run_service(&["--connect", "proxy-without-port", "--count", "1"]);
    let message = stderr(&output);

    assert!(!output.status.success());
    assert!(message.contains("proxy-without-port"), "{message}");
}

#[test]
fn missing_key_file_exits_naming_the_file() {
    let certs = CertSet::new();
    let missing = certs.dir().join("no-such-service.key");
    let output = run_service(&[
        "--connect",
        "127.0.0.1:9",
        "--count",
        "1",
        "--cert",
        certs.service_cert.to_str().unwrap(),
        "--key",
        missing.to_str().unwrap(),
        "--ca",
        certs.ca_cert.to_str().unwrap(),
    ]);
    let message = stderr(&output);

    assert!(!output.status.success());
    assert!(message.contains(missing.to_str().unwrap()), "{message}");
    assert!(message.contains("cannot read"), "{message}");
}
