use std::fmt;
use std::net::IpAddr;

use rustls_pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The names a peer's end-entity certificate carries: what access rules
/// match against and what connection logs report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerIdentity {
    /// Subject common names (usually one).
    pub common_names: Vec<String>,
    /// Subject organizational units.
    pub organizational_units: Vec<String>,
    /// DNS subjectAltNames.
    pub dns_names: Vec<String>,
    /// URI subjectAltNames, such as SPIFFE IDs.
    pub uris: Vec<String>,
    /// IP address subjectAltNames.
    pub ip_addresses: Vec<IpAddr>,
}

impl PeerIdentity {
    /// Reads the subject and subjectAltNames of a DER certificate. Returns
    /// `None` when the bytes are not a parsable certificate.
    pub fn from_certificate(cert: &CertificateDer<'_>) -> Option<Self> {
        let (_, parsed) = X509Certificate::from_der(cert).ok()?;
        let subject = parsed.subject();
        let text = |attr: &x509_parser::x509::AttributeTypeAndValue<'_>| {
            attr.as_str().ok().map(str::to_string)
        };

        let mut identity = PeerIdentity {
            common_names: subject.iter_common_name().filter_map(text).collect(),
            organizational_units: subject
                .iter_organizational_unit()
                .filter_map(text)
                .collect(),
            ..PeerIdentity::default()
        };

        if let Ok(Some(san)) = parsed.subject_alternative_name() {
            for name in &san.value.general_names {
                identity.add_alt_name(name);
            }
        }
        Some(identity)
    }

    fn add_alt_name(&mut self, name: &GeneralName<'_>) {
        match name {
            GeneralName::DNSName(dns) => self.dns_names.push(dns.to_string()),
            GeneralName::URI(uri) => self.uris.push(uri.to_string()),
            GeneralName::IPAddress(bytes) => {
                let ip = match bytes.len() {
                    4 => <[u8; 4]>::try_from(*bytes).ok().map(IpAddr::from),
                    16 => <[u8; 16]>::try_from(*bytes).ok().map(IpAddr::from),
                    _ => None,
                };
                self.ip_addresses.extend(ip);
            }
            _ => {}
        }
    }

    /// The first common name, or `-` when the subject has none.
    pub fn common_name(&self) -> &str {
        self.common_names.first().map_or("-", String::as_str)
    }

    /// All subjectAltNames in one comma-separated string, for logs.
    pub fn alt_names(&self) -> String {
        let dns = self.dns_names.iter().map(|n| format!("DNS:{n}"));
        let uri = self.uris.iter().map(|u| format!("URI:{u}"));
        let ip = self.ip_addresses.iter().map(|ip| format!("IP:{ip}"));
        dns.chain(uri).chain(ip).collect::<Vec<_>>().join(",")
    }
}

impl fmt::Display for PeerIdentity {
    /// Formats as `CN=name [DNS:a,URI:b]`, the form connection logs use.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CN={}", self.common_name())?;
        if let Some(ou) = self.organizational_units.first() {
            write!(f, " OU={ou}")?;
        }
        let alt = self.alt_names();
        if !alt.is_empty() {
            write!(f, " [{alt}]")?;
        }
        Ok(())
    }
}
