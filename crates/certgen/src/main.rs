use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use certgen::{write_bundle, BundleOptions};

/// Creates a CA (EC P-256) and a certificate and key for the proxy and for
/// the service, signed by that CA.
#[derive(Debug, clap::Parser)]
#[command(version)]
struct Args {
    /// Folder to write ca.crt, ca.key, proxy.crt, proxy.key, service.crt and
    /// service.key into.
    #[arg(long, value_name = "DIR", default_value = "certs")]
    out: PathBuf,

    /// Replace existing certificates and keys.
    #[arg(long)]
    force: bool,

    /// Validity of the CA certificate, in days.
    #[arg(long, value_name = "DAYS", default_value_t = 3650,
          value_parser = clap::value_parser!(i64).range(1..))]
    ca_days: i64,

    /// Validity of the proxy and service certificates, in days.
    #[arg(long, value_name = "DAYS", default_value_t = 365,
          value_parser = clap::value_parser!(i64).range(1..))]
    days: i64,

    /// Extra DNS name or IP address for the proxy certificate, for a proxy
    /// that clients reach by another name; repeat for several.
    #[arg(long = "proxy-name", value_name = "NAME", value_parser = parse_host_name)]
    proxy_names: Vec<String>,
}

/// Accepts an IP address or a DNS name made of letters, digits and hyphens
/// in dot-separated labels, as certificates may carry.
fn parse_host_name(text: &str) -> Result<String, String> {
    if text.parse::<std::net::IpAddr>().is_ok() {
        return Ok(text.to_string());
    }
    let valid_label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if text.len() <= 253 && text.split('.').all(valid_label) {
        Ok(text.to_string())
    } else {
        Err("not an IP address or a DNS name such as proxy.studio.example".to_string())
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = BundleOptions {
        dir: args.out,
        force: args.force,
        ca_days: args.ca_days,
        leaf_days: args.days,
        extra_proxy_names: args.proxy_names,
    };
    match write_bundle(&options) {
        Ok(paths) => {
            for path in paths {
                println!("wrote {}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("certgen: {err}");
            ExitCode::FAILURE
        }
    }
}
