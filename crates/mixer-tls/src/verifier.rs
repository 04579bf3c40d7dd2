//! A client certificate verifier that wraps the stock WebPKI verifier.
//!
//! The wrapper adds two things and changes nothing else: it records the
//! identity a client presented, so that a rejected client can be named in the
//! log, and it applies an optional access policy after chain verification.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::PeerIdentity;

/// A rule set that decides, after the chain has been verified, whether a
/// client identity may connect.
pub trait ClientPolicy: Send + Sync + fmt::Debug {
    /// Returns `Ok` when the identity is allowed, or the denial to log.
    fn check(&self, identity: &PeerIdentity) -> Result<(), PolicyDenial>;
}

/// Why a policy turned a verified client away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDenial {
    /// The allowlist the identity failed to match, as the operator wrote it.
    pub rule: String,
}

/// What the verifier saw of a client during one handshake.
#[derive(Debug, Clone, Default)]
pub struct PresentedClient {
    /// The identity of the end-entity certificate the client sent, if any.
    pub identity: Option<PeerIdentity>,
    /// Set when the access policy rejected an otherwise valid certificate.
    pub denial: Option<PolicyDenial>,
}

tokio::task_local! {
    static PRESENTED: RefCell<PresentedClient>;
}

/// Runs a handshake future and returns, beside its output, what the client
/// presented to the verifier while it ran.
///
/// rustls calls the verifier synchronously from inside the handshake future,
/// so a task-local scope around that future is enough to carry the identity
/// of a rejected client out to the code that logs the rejection.
pub async fn capture_presented_identity<F: Future>(handshake: F) -> (F::Output, PresentedClient) {
    PRESENTED
        .scope(RefCell::new(PresentedClient::default()), async move {
            let output = handshake.await;
            let presented = PRESENTED.with(|cell| cell.take());
            (output, presented)
        })
        .await
}

fn record(update: impl FnOnce(&mut PresentedClient)) {
    // Outside a capture scope no caller reads the record, so it is dropped.
    let _ = PRESENTED.try_with(|cell| update(&mut cell.borrow_mut()));
}

/// Delegates every check to WebPKI, then applies the policy.
#[derive(Debug)]
pub(crate) struct RecordingVerifier {
    pub(crate) inner: Arc<dyn ClientCertVerifier>,
    pub(crate) policy: Option<Arc<dyn ClientPolicy>>,
}

impl ClientCertVerifier for RecordingVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let identity = PeerIdentity::from_certificate(end_entity);
        record(|presented| presented.identity = identity.clone());

        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;

        let Some(policy) = &self.policy else {
            return Ok(verified);
        };
        let decision = match &identity {
            Some(identity) => policy.check(identity),
            None => Err(PolicyDenial {
                rule: "certificate names could not be read".to_string(),
            }),
        };
        match decision {
            Ok(()) => Ok(verified),
            Err(denial) => {
                record(|presented| presented.denial = Some(denial));
                // Sent to the client as an access_denied alert.
                Err(CertificateError::ApplicationVerificationFailure.into())
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
