use std::net::IpAddr;

use rand::RngCore;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevokedCertParams, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

/// What a leaf certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// TLS server authentication (the proxy).
    Server,
    /// TLS client authentication (the service).
    Client,
}

/// The contents of a leaf certificate to issue.
#[derive(Debug, Clone)]
pub struct LeafSpec {
    /// Subject common name.
    pub common_name: String,
    /// Subject organizational unit, if any.
    pub organizational_unit: Option<String>,
    /// DNS subjectAltNames.
    pub dns_names: Vec<String>,
    /// IP address subjectAltNames.
    pub ip_addresses: Vec<IpAddr>,
    /// URI subjectAltNames, such as SPIFFE IDs.
    pub uris: Vec<String>,
    /// The extended key usage.
    pub usage: Usage,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
}

impl LeafSpec {
    /// A spec valid from an hour ago for `days` days, with no names beyond
    /// the common name.
    pub fn new(common_name: &str, usage: Usage, days: i64) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            common_name: common_name.to_string(),
            organizational_unit: None,
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            uris: Vec::new(),
            usage,
            not_before: now - Duration::hours(1),
            not_after: now + Duration::days(days),
        }
    }
}

/// A certificate with its private key, both in PEM and DER.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate as PEM.
    pub cert_pem: String,
    /// The certificate as DER.
    pub cert_der: Vec<u8>,
    /// The PKCS#8 private key as PEM.
    pub key_pem: String,
    /// The serial number, for revocation lists.
    pub serial: Vec<u8>,
}

/// A CA, root or intermediate, that issues certificates and CRLs. Keys are
/// EC P-256 with ECDSA-SHA256 signatures.
#[derive(Debug)]
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
    key_pem: String,
}

impl Authority {
    /// Creates a self-signed root CA valid from an hour ago for `days` days.
    pub fn new_root(common_name: &str, days: i64) -> Result<Self, rcgen::Error> {
        let now = OffsetDateTime::now_utc();
        Self::new_root_valid(
            common_name,
            now - Duration::hours(1),
            now + Duration::days(days),
        )
    }

    /// Creates a self-signed root CA with an explicit validity period.
    pub fn new_root_valid(
        common_name: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<Self, rcgen::Error> {
        let key = KeyPair::generate()?;
        let key_pem = key.serialize_pem();
        let params = ca_params(common_name, not_before, not_after)?;
        let issuer = CertifiedIssuer::self_signed(params, key)?;
        Ok(Self { issuer, key_pem })
    }

    /// Creates an intermediate CA signed by this one.
    pub fn new_intermediate(&self, common_name: &str, days: i64) -> Result<Self, rcgen::Error> {
        let now = OffsetDateTime::now_utc();
        let key = KeyPair::generate()?;
        let key_pem = key.serialize_pem();
        let params = ca_params(
            common_name,
            now - Duration::hours(1),
            now + Duration::days(days),
        )?;
        let issuer = CertifiedIssuer::signed_by(params, key, &self.issuer)?;
        Ok(Self { issuer, key_pem })
    }

    /// The CA certificate as PEM.
    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// The CA certificate as DER.
    pub fn cert_der(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
    }

    /// The CA's PKCS#8 private key as PEM.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// Issues a leaf certificate with a fresh P-256 key.
    pub fn issue(&self, spec: &LeafSpec) -> Result<Issued, rcgen::Error> {
        let key = KeyPair::generate()?;
        let serial = random_serial();

        let mut params = CertificateParams::default();
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, spec.common_name.as_str());
        if let Some(ou) = &spec.organizational_unit {
            params
                .distinguished_name
                .push(DnType::OrganizationalUnitName, ou.as_str());
        }
        params.subject_alt_names = alt_names(spec)?;
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        params.not_before = spec.not_before;
        params.not_after = spec.not_after;
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![match spec.usage {
            Usage::Server => ExtendedKeyUsagePurpose::ServerAuth,
            Usage::Client => ExtendedKeyUsagePurpose::ClientAuth,
        }];
        params.use_authority_key_identifier_extension = true;

        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            key_pem: key.serialize_pem(),
            serial,
        })
    }

    /// Issues a CRL that revokes `serials`, valid until `next_update`.
    pub fn revocation_list(
        &self,
        serials: &[Vec<u8>],
        next_update: OffsetDateTime,
    ) -> Result<String, rcgen::Error> {
        let now = OffsetDateTime::now_utc();
        let revoked_certs = serials
            .iter()
            .map(|serial| RevokedCertParams {
                serial_number: SerialNumber::from_slice(serial),
                revocation_time: now - Duration::minutes(5),
                reason_code: None,
                invalidity_date: None,
            })
            .collect();
        let params = CertificateRevocationListParams {
            this_update: now - Duration::minutes(5),
            next_update,
            crl_number: SerialNumber::from_slice(&random_serial()),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params.signed_by(&self.issuer)?.pem()
    }
}

fn ca_params(
    common_name: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    params.not_before = not_before;
    params.not_after = not_after;
    Ok(params)
}

fn alt_names(spec: &LeafSpec) -> Result<Vec<SanType>, rcgen::Error> {
    let mut names = Vec::new();
    for dns in &spec.dns_names {
        names.push(SanType::DnsName(dns.as_str().try_into()?));
    }
    for ip in &spec.ip_addresses {
        names.push(SanType::IpAddress(*ip));
    }
    for uri in &spec.uris {
        names.push(SanType::URI(uri.as_str().try_into()?));
    }
    Ok(names)
}

/// A positive 16-byte serial number, as RFC 5280 allows at most 20 bytes.
fn random_serial() -> Vec<u8> {
    let mut serial = vec![0u8; 16];
    rand::rng().fill_bytes(&mut serial);
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    serial
}
