//! TLS for every protocol: the OS trust store, plus an optional per-account pin.
//!
//! A certificate that fails verification is refused with its SHA-256 fingerprint, so the
//! GUI can offer "trust this certificate for this account". A pinned certificate is
//! accepted only if it is byte-for-byte the pinned one; a changed one is refused.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Why a TLS handshake failed, as the user should hear it.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TlsError {
    /// The certificate is not trusted (self-signed, expired, wrong host, ...).
    #[error("the server's certificate is not trusted ({reason}); SHA-256 {fingerprint}")]
    Untrusted { fingerprint: String, reason: String },
    /// The account pins a certificate and the server now shows another one.
    #[error("the server's certificate changed: pinned {pinned}, presented {presented}")]
    PinMismatch { pinned: String, presented: String },
    #[error("TLS failed: {0}")]
    Handshake(String),
    #[error("invalid server name {0:?}")]
    BadName(String),
}

/// Lowercase hex SHA-256 of a DER certificate.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Checks the chain with the platform verifier, unless the end certificate is the pinned
/// one. Remembers the presented certificate so a failure can name its fingerprint.
#[derive(Debug)]
struct PinningVerifier {
    platform: Arc<dyn ServerCertVerifier>,
    pinned: Option<String>,
    presented: Mutex<Option<String>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = fingerprint(end_entity);
        if let Ok(mut slot) = self.presented.lock() {
            *slot = Some(presented.clone());
        }
        if let Some(pinned) = &self.pinned {
            // A pin replaces chain verification for exactly this certificate, and any other
            // certificate is refused: the user trusted that one, not the next.
            if pinned.eq_ignore_ascii_case(&presented) {
                return Ok(ServerCertVerified::assertion());
            }
            return Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ));
        }
        self.platform
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Wraps `stream` in TLS for `host`, verifying as described above.
pub async fn connect<S>(
    stream: S,
    host: &str,
    pinned: Option<&str>,
) -> Result<TlsStream<S>, TlsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let platform = rustls_platform_verifier::Verifier::new(provider.clone())
        .map_err(|e| TlsError::Handshake(e.to_string()))?;
    let verifier = Arc::new(PinningVerifier {
        platform: Arc::new(platform),
        pinned: pinned.map(str::to_owned),
        presented: Mutex::new(None),
        provider: provider.clone(),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Handshake(e.to_string()))?
        .dangerous() // only to install our verifier, which is stricter than the default
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned()).map_err(|_| TlsError::BadName(host.into()))?;
    match TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
    {
        Ok(tls) => Ok(tls),
        Err(e) => {
            let presented = verifier.presented.lock().ok().and_then(|p| p.clone());
            Err(classify(e, presented, pinned))
        }
    }
}

fn classify(e: std::io::Error, presented: Option<String>, pinned: Option<&str>) -> TlsError {
    let cert_error = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|r| {
            matches!(
                r,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            )
        });
    match (cert_error, presented, pinned) {
        (true, Some(presented), Some(pinned)) => TlsError::PinMismatch {
            pinned: pinned.to_owned(),
            presented,
        },
        (true, Some(fingerprint), None) => TlsError::Untrusted {
            fingerprint,
            reason: e.to_string(),
        },
        _ => TlsError::Handshake(e.to_string()),
    }
}
