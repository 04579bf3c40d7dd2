//! Command lines that must be rejected before anything starts, each with a
//! message that names the value at fault.

use clap::Parser;
use proxy::cli::Args;
use proxy::config::ProxyConfig;

fn config_error(extra: &[&str]) -> String {
    let mut argv = vec!["proxy", "--route", "127.0.0.1:9000=mixer:9000"];
    argv.extend_from_slice(extra);
    let args = Args::try_parse_from(argv).expect("arguments parse");
    ProxyConfig::from_args(&args)
        .expect_err("configuration is rejected")
        .to_string()
}

#[test]
fn invalid_values_are_named() {
    let cases: [(&[&str], &[&str]); 7] = [
        (&["--allow", "email:a@b"], &["email:a@b", "unknown kind"]),
        (&["--allow", "dns:desk-*.studio"], &["desk-*"]),
        (
            &["--allow", "127.0.0.1:9999=cn:desk"],
            &["127.0.0.1:9999", "no --route listens"],
        ),
        (&["--max-connections", "0"], &["--max-connections"]),
        (
            &["--max-connections-per-route", "0"],
            &["--max-connections-per-route"],
        ),
        (&["--idle-timeout", "0s"], &["--idle-timeout"]),
        (&["--reload-debounce", "0s"], &["--reload-debounce"]),
    ];
    for (extra, expected) in cases {
        let err = config_error(extra);
        for part in expected {
            assert!(err.contains(part), "{extra:?}: {err}");
        }
    }
}

#[test]
fn bad_route_options_are_named() {
    let args = Args::try_parse_from(["proxy", "--route", "127.0.0.1:9000=mixer:9000;idle=soon"])
        .expect("arguments parse");
    let err = ProxyConfig::from_args(&args)
        .expect_err("rejected")
        .to_string();
    assert!(err.contains("\"soon\""), "{err}");
    assert!(err.contains("127.0.0.1:9000=mixer:9000;idle=soon"), "{err}");
}

#[test]
fn route_options_reach_the_config() {
    let args = Args::try_parse_from([
        "proxy",
        "--route",
        "127.0.0.1:9000=mixer:9000;idle=off;max-connections=3",
        "--idle-timeout",
        "5m",
        "--min-tls",
        "1.3",
    ])
    .expect("arguments parse");
    let config = ProxyConfig::from_args(&args).expect("valid");
    assert_eq!(config.routes[0].options.idle_timeout, Some(None));
    assert_eq!(config.routes[0].options.max_connections, Some(3));
    assert_eq!(
        config.idle_timeout,
        Some(std::time::Duration::from_secs(300))
    );
    assert_eq!(config.min_tls, mixer_tls::TlsVersion::Tls13);
    assert_eq!(config.max_connections, 10_000);
}
