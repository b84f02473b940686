//! TLS configuration (rustls 0.23 with the ring provider) and TLS error mapping.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, ErrorKind, Result};

/// TLS settings of a transfer (part of the connection-reuse key).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct TlsOptions {
    /// PEM bundle of trusted roots (curl `CAINFO`); `None` = the system store.
    pub(crate) ca_file: Option<PathBuf>,
    /// Skip certificate and host name verification (curl `-k`, `SSL_VERIFYPEER=0`).
    pub(crate) insecure: bool,
    /// PEM client certificate chain and key (curl `SSLCERT` / `SSLKEY`).
    pub(crate) client_cert: Option<(PathBuf, PathBuf)>,
    /// ALPN protocol to offer.
    pub(crate) alpn: Vec<Vec<u8>>,
    /// The lowest and highest TLS versions allowed (curl `SSLVERSION`); `None`: rustls's
    /// (1.2 and 1.3).
    pub(crate) versions: (Option<TlsVersion>, Option<TlsVersion>),
    /// A directory of PEM roots (curl `CAPATH`).
    pub(crate) ca_path: Option<PathBuf>,
    /// PEM roots in memory (curl `CAINFO_BLOB`).
    pub(crate) ca_blob: Option<Arc<[u8]>>,
    /// Pinned public keys (curl `PINNEDPUBLICKEY`).
    pub(crate) pins: Option<super::pin::Pins>,
    /// A whole configuration handed in, used as it is (ALPN added when it has none).
    pub(crate) custom: Option<CustomConfig>,
}

/// A `ClientConfig` handed in by the caller: the same one (by identity) is the same key.
#[derive(Clone, Debug)]
pub(crate) struct CustomConfig(pub(crate) Arc<ClientConfig>);

impl PartialEq for CustomConfig {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for CustomConfig {}

impl std::hash::Hash for CustomConfig {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.0) as usize).hash(state);
    }
}

/// A TLS protocol version (`CURLOPT_SSLVERSION`). rustls speaks 1.2 and 1.3 only: a
/// minimum below 1.2 is 1.2.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246).
    Tls12,
    /// TLS 1.3 (RFC 8446).
    Tls13,
}

/// The rustls versions between `min` and `max` (both inclusive, `None`: unbounded).
pub(crate) fn versions_between(
    min: Option<TlsVersion>,
    max: Option<TlsVersion>,
) -> Vec<&'static rustls::SupportedProtocolVersion> {
    [
        (TlsVersion::Tls12, &rustls::version::TLS12),
        (TlsVersion::Tls13, &rustls::version::TLS13),
    ]
    .into_iter()
    .filter(|(v, _)| min.is_none_or(|m| *v >= m) && max.is_none_or(|m| *v <= m))
    .map(|(_, p)| p)
    .collect()
}

/// Built client configs, one per distinct [`TlsOptions`], shared by a multi's transfers.
#[derive(Default)]
pub(crate) struct TlsConfigs {
    configs: HashMap<TlsOptions, (u64, Arc<ClientConfig>)>,
    /// The config handed out last: a comparison instead of hashing the options per request.
    last: Option<(TlsOptions, u64, Arc<ClientConfig>)>,
}

impl TlsConfigs {
    /// The config for `opts` and its id (for the pool key).
    pub(crate) fn get(&mut self, opts: &TlsOptions) -> Result<(u64, Arc<ClientConfig>)> {
        if let Some((o, id, c)) = &self.last {
            if o == opts {
                return Ok((*id, c.clone()));
            }
        }
        let (id, cfg) = match self.configs.get(opts) {
            Some(c) => c.clone(),
            None => {
                let cfg = Arc::new(build(opts)?);
                let id = self.configs.len() as u64 + 1;
                self.configs.insert(opts.clone(), (id, cfg.clone()));
                (id, cfg)
            }
        };
        self.last = Some((opts.clone(), id, cfg.clone()));
        Ok((id, cfg))
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static P: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// System roots are loaded once per process (reading the store is slow).
fn system_roots() -> Arc<RootCertStore> {
    static R: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    R.get_or_init(|| {
        let mut store = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            let _ = store.add(cert);
        }
        Arc::new(store)
    })
    .clone()
}

/// The roots to trust: the CA file, directory and blob together, or the system's.
fn roots(opts: &TlsOptions) -> Result<Arc<RootCertStore>> {
    if opts.ca_file.is_none() && opts.ca_path.is_none() && opts.ca_blob.is_none() {
        return Ok(system_roots());
    }
    let bad =
        |what: &str, e: String| Error::new(ErrorKind::SslCacertBadFile, format!("{what}: {e}"));
    let mut store = RootCertStore::empty();
    let mut add_pem = |what: &str, pem: &[u8]| -> Result<()> {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| bad(what, e.to_string()))?;
            store.add(cert).map_err(|e| bad(what, e.to_string()))?;
        }
        Ok(())
    };
    if let Some(path) = &opts.ca_file {
        let pem =
            std::fs::read(path).map_err(|e| bad(&path.display().to_string(), e.to_string()))?;
        add_pem(&path.display().to_string(), &pem)?;
    }
    if let Some(dir) = &opts.ca_path {
        let what = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|e| bad(&what, e.to_string()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                // Files that are not PEM certificates (OpenSSL's hash links are) are skipped.
                if let Ok(pem) = std::fs::read(&path) {
                    let _ = add_pem(&path.display().to_string(), &pem);
                }
            }
        }
    }
    if let Some(blob) = &opts.ca_blob {
        add_pem("the CA blob", blob)?;
    }
    if store.is_empty() {
        return Err(bad("CA certificates", "none found".into()));
    }
    Ok(Arc::new(store))
}

fn build(opts: &TlsOptions) -> Result<ClientConfig> {
    if let Some(c) = &opts.custom {
        let mut cfg = (*c.0).clone();
        if cfg.alpn_protocols.is_empty() {
            cfg.alpn_protocols = opts.alpn.clone();
        }
        return Ok(cfg);
    }
    let versions = versions_between(opts.versions.0, opts.versions.1);
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&versions)
        .map_err(|e| Error::new(ErrorKind::SslConnectError, e.to_string()))?;
    let verifier: Arc<dyn ServerCertVerifier> = if opts.insecure {
        Arc::new(NoVerify(provider()))
    } else {
        rustls::client::WebPkiServerVerifier::builder_with_provider(roots(opts)?, provider())
            .build()
            .map_err(|e| Error::new(ErrorKind::SslCacertBadFile, e.to_string()))?
    };
    let verifier: Arc<dyn ServerCertVerifier> = match &opts.pins {
        Some(pins) => Arc::new(super::pin::PinnedVerifier {
            inner: verifier,
            pins: pins.clone(),
        }),
        None => verifier,
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut cfg = match &opts.client_cert {
        Some((cert, key)) => {
            let bad = |e: String| Error::new(ErrorKind::SslConnectError, e);
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .map_err(|e| bad(format!("{}: {e}", cert.display())))?
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| bad(format!("{}: {e}", cert.display())))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| bad(format!("{}: {e}", key.display())))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| bad(e.to_string()))?
        }
        None => builder.with_no_client_auth(),
    };
    cfg.alpn_protocols = opts.alpn.clone();
    // Resumption is on by default in rustls (in-memory cache): reconnects are cheaper.
    Ok(cfg)
}

/// The TLS server name of `host` (a DNS name or an IP address).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>> {
    ServerName::try_from(host.to_string())
        .map_err(|e| Error::new(ErrorKind::UrlMalformat, format!("bad TLS server name: {e}")))
}

/// Map a handshake failure: certificate problems are `PeerFailedVerification`, the rest
/// `SslConnectError`.
pub(crate) fn handshake_error(e: rustls::Error) -> Error {
    let kind = match &e {
        e if super::pin::is_pin_mismatch(e) => ErrorKind::SslPinnedPubKeyNotMatch,
        rustls::Error::InvalidCertificate(_) => ErrorKind::PeerFailedVerification,
        _ => ErrorKind::SslConnectError,
    };
    Error::new(kind, e.to_string()).with_source(e)
}

/// Whether a TLS error is the peer rejecting the handshake (our certificate, or the
/// negotiation). A TLS 1.3 server checks the client certificate after the client has finished
/// its side of the handshake, so such an alert arrives with the first read; it is still a
/// handshake failure (`SslConnectError`), not a receive error.
pub(crate) fn is_handshake_alert(e: &rustls::Error) -> bool {
    use rustls::AlertDescription as A;
    matches!(
        e,
        rustls::Error::AlertReceived(
            A::HandshakeFailure
                | A::BadCertificate
                | A::UnsupportedCertificate
                | A::CertificateRevoked
                | A::CertificateExpired
                | A::CertificateUnknown
                | A::UnknownCA
                | A::AccessDenied
                | A::CertificateRequired
                | A::InsufficientSecurity
                | A::ProtocolVersion
        )
    )
}

/// `-k`: accept any certificate (signatures are still checked for the handshake itself).
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
