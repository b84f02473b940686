//! Public key pinning (`CURLOPT_PINNEDPUBLICKEY`): after the usual certificate checks, the
//! server's public key (its SubjectPublicKeyInfo) must be one of the pins, given as
//! `sha256//BASE64` hashes (several separated by `;`) or as a PEM or DER public key file.
//! A mismatch is curl's `CURLE_SSL_PINNEDPUBKEYNOTMATCH` (90).

use std::sync::Arc;

use base64::Engine as _;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, ErrorKind, Result};

/// The pins: SHA-256 hashes of acceptable SubjectPublicKeyInfos.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Pins(Vec<[u8; 32]>);

/// The server's key is not pinned.
#[derive(Debug)]
pub(crate) struct PinMismatch;

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server's public key does not match the pinned public key")
    }
}

impl std::error::Error for PinMismatch {}

impl Pins {
    /// Parse `sha256//HASH[;sha256//HASH]...`, or read a PEM (`PUBLIC KEY`) or DER public
    /// key file.
    pub(crate) fn parse(spec: &str) -> Result<Pins> {
        let bad = |why: String| Error::new(ErrorKind::BadFunctionArgument, why);
        if spec.starts_with("sha256//") {
            let pins = spec
                .split(';')
                .map(|p| {
                    let b64 = p
                        .trim()
                        .strip_prefix("sha256//")
                        .ok_or_else(|| bad(format!("pin {p:?}: sha256//BASE64 expected")))?;
                    let raw = base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|e| bad(format!("pin {p:?}: {e}")))?;
                    <[u8; 32]>::try_from(raw.as_slice())
                        .map_err(|_| bad(format!("pin {p:?}: not a SHA-256 hash")))
                })
                .collect::<Result<Vec<_>>>()?;
            return Ok(Pins(pins));
        }
        let data = std::fs::read(spec).map_err(|e| bad(format!("pinned key {spec}: {e}")))?;
        let der = match std::str::from_utf8(&data) {
            Ok(text) if text.contains("-----BEGIN PUBLIC KEY-----") => {
                let b64: String = text
                    .lines()
                    .skip_while(|l| !l.starts_with("-----BEGIN PUBLIC KEY-----"))
                    .skip(1)
                    .take_while(|l| !l.starts_with("-----END"))
                    .collect();
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|e| bad(format!("pinned key {spec}: {e}")))?
            }
            _ => data,
        };
        Ok(Pins(vec![Sha256::digest(&der).into()]))
    }

    fn allows(&self, cert: &CertificateDer<'_>) -> bool {
        let Ok(ee) = webpki::EndEntityCert::try_from(cert) else {
            return false;
        };
        let hash: [u8; 32] = Sha256::digest(ee.subject_public_key_info().as_ref()).into();
        self.0.contains(&hash)
    }
}

/// The usual verifier, then the pin check.
#[derive(Debug)]
pub(crate) struct PinnedVerifier {
    pub(crate) inner: Arc<dyn ServerCertVerifier>,
    pub(crate) pins: Pins,
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let ok =
            self.inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?;
        match self.pins.allows(end_entity) {
            true => Ok(ok),
            false => Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(PinMismatch)),
            ))),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Whether a handshake failed on the pin.
pub(crate) fn is_pin_mismatch(e: &rustls::Error) -> bool {
    matches!(e, rustls::Error::InvalidCertificate(CertificateError::Other(o))
        if o.0.downcast_ref::<PinMismatch>().is_some())
}
