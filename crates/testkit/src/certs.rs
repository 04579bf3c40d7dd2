use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use certgen::{Authority, LeafSpec, Usage};
use mixer_tls::{ClientTlsFiles, ServerTlsFiles};
use tempfile::TempDir;
use time::{Duration, OffsetDateTime};

/// A CA with a proxy and a service certificate, written as PEM files into a
/// temporary folder that is removed on drop.
#[derive(Debug)]
pub struct CertSet {
    dir: TempDir,
    authority: Authority,
    ca_name: String,
    /// The CA certificate.
    pub ca_cert: PathBuf,
    /// The proxy's certificate, for `localhost` and `127.0.0.1`.
    pub proxy_cert: PathBuf,
    /// The proxy's private key.
    pub proxy_key: PathBuf,
    /// The service's client certificate.
    pub service_cert: PathBuf,
    /// The service's private key.
    pub service_key: PathBuf,
}

impl CertSet {
    /// Creates a fresh CA and issues the proxy and service certificates.
    /// Each set's CA has its own subject name, so a certificate from another
    /// set fails as signed by an unknown issuer.
    pub fn new() -> Self {
        static SETS: AtomicUsize = AtomicUsize::new(0);
        let ca_name = format!("test CA {}", SETS.fetch_add(1, Ordering::Relaxed));
        let dir = tempfile::tempdir().expect("cannot create a temporary folder");
        let authority = Authority::new_root(&ca_name, 30).expect("cannot create the CA");
        let ca_cert = write(dir.path(), "ca.crt", authority.cert_pem());

        let proxy = authority
            .issue(&server_spec("proxy"))
            .expect("cannot issue the proxy certificate");
        let service = authority
            .issue(&client_spec("service"))
            .expect("cannot issue the service certificate");

        Self {
            proxy_cert: write(dir.path(), "proxy.crt", &proxy.cert_pem),
            proxy_key: write(dir.path(), "proxy.key", &proxy.key_pem),
            service_cert: write(dir.path(), "service.crt", &service.cert_pem),
            service_key: write(dir.path(), "service.key", &service.key_pem),
            ca_cert,
            dir,
            authority,
            ca_name,
        }
    }

    /// Returns the temporary folder the files are in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Returns the CA that issued every certificate of this set.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// Writes `contents` to `name` inside the folder and returns the path.
    pub fn write_file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        write(self.dir.path(), name, contents)
    }

    /// Returns the proxy's files: its certificate and key, and this CA for
    /// clients.
    pub fn server_files(&self) -> ServerTlsFiles {
        ServerTlsFiles {
            cert: self.proxy_cert.clone(),
            key: self.proxy_key.clone(),
            client_ca: self.ca_cert.clone(),
            crls: Vec::new(),
        }
    }

    /// Returns the service's files: its certificate and key, and this CA for
    /// the proxy.
    pub fn client_files(&self) -> ClientTlsFiles {
        ClientTlsFiles {
            cert: self.service_cert.clone(),
            key: self.service_key.clone(),
            ca: self.ca_cert.clone(),
        }
    }

    /// Issues a client certificate from this CA with `spec` and returns
    /// client files that use it. `name` prefixes the file names.
    pub fn issue_client(&self, name: &str, spec: &LeafSpec) -> ClientTlsFiles {
        self.client_from(&self.authority, name, spec)
    }

    /// Issues a client certificate from a second, unrelated CA. The client
    /// still trusts this set's CA, so only the proxy's check fails.
    pub fn foreign_client(&self) -> ClientTlsFiles {
        let other = Authority::new_root("unrelated CA", 30).expect("cannot create the second CA");
        self.client_from(&other, "foreign", &client_spec("foreign"))
    }

    /// Issues a client certificate from a CA with this CA's subject name but
    /// another key, so only the signature gives it away.
    pub fn impostor_client(&self) -> ClientTlsFiles {
        let impostor = Authority::new_root(&self.ca_name, 30).expect("cannot create the second CA");
        self.client_from(&impostor, "impostor", &client_spec("impostor"))
    }

    /// Issues a client certificate from this CA that expired a day ago.
    pub fn expired_client(&self) -> ClientTlsFiles {
        let now = OffsetDateTime::now_utc();
        let mut spec = client_spec("expired");
        spec.not_before = now - Duration::days(10);
        spec.not_after = now - Duration::days(1);
        self.issue_client("expired", &spec)
    }

    fn client_from(&self, authority: &Authority, name: &str, spec: &LeafSpec) -> ClientTlsFiles {
        let issued = authority
            .issue(spec)
            .unwrap_or_else(|err| panic!("cannot issue certificate {name}: {err}"));
        ClientTlsFiles {
            cert: self.write_file(&format!("{name}.crt"), &issued.cert_pem),
            key: self.write_file(&format!("{name}.key"), &issued.key_pem),
            ca: self.ca_cert.clone(),
        }
    }
}

impl Default for CertSet {
    fn default() -> Self {
        Self::new()
    }
}

/// Returns a server certificate spec for `localhost` and `127.0.0.1`, valid
/// for 30 days.
pub fn server_spec(common_name: &str) -> LeafSpec {
    let mut spec = LeafSpec::new(common_name, Usage::Server, 30);
    spec.dns_names = vec!["localhost".to_string()];
    spec.ip_addresses = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    spec
}

/// Returns a client certificate spec valid for 30 days.
pub fn client_spec(common_name: &str) -> LeafSpec {
    let mut spec = LeafSpec::new(common_name, Usage::Client, 30);
    spec.dns_names = vec![common_name.to_string()];
    spec
}

fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, contents)
        .unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
    path
}
