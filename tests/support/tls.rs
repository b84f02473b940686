//! rustls configurations built from the PEM files in `tests/support/data/`
//! (regenerate those with `data/make-certs.sh`). All use the ring provider.
//!
//! Cert/key arguments are file names inside `data/`, e.g.
//! `server_config("server.pem", "server.key")`. Files there:
//! `ca.pem` (trust anchor), `server` (localhost/127.0.0.1/::1), `wronghost`
//! (example.invalid only), `expired` (2000..2001), `untrusted` (signed by
//! `other-ca.pem`), `client` (clientAuth leaf signed by ca).

use std::path::PathBuf;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig, SupportedProtocolVersion};

use super::data_path;

/// Path of the test CA certificate (`data/ca.pem`), to hand to the client
/// under test as its CA file.
pub fn ca_path() -> PathBuf {
    data_path("ca.pem")
}

/// The ring crypto provider.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// All certificates in `data/<name>`.
pub fn load_certs(name: &str) -> Vec<CertificateDer<'static>> {
    let path = data_path(name);
    let certs: Vec<_> = CertificateDer::pem_file_iter(&path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
    assert!(!certs.is_empty(), "no certificate in {}", path.display());
    certs
}

/// The private key in `data/<name>`.
pub fn load_key(name: &str) -> PrivateKeyDer<'static> {
    let path = data_path(name);
    PrivateKeyDer::from_pem_file(&path).unwrap_or_else(|e| panic!("key {}: {e}", path.display()))
}

/// Root store holding the certificates of `data/<ca>`.
pub fn root_store(ca: &str) -> RootCertStore {
    let mut roots = RootCertStore::empty();
    for c in load_certs(ca) {
        roots.add(c).expect("add CA certificate");
    }
    roots
}

/// Server config for `cert`/`key` with explicit protocol versions and ALPN
/// list (empty = no ALPN). The other constructors are shorthands for this.
pub fn server_config_with(
    cert: &str,
    key: &str,
    versions: &[&'static SupportedProtocolVersion],
    alpn: &[&[u8]],
) -> Arc<ServerConfig> {
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(load_certs(cert), load_key(key))
        .expect("server certificate/key");
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(cfg)
}

/// TLS 1.2 + 1.3, ALPN `http/1.1`.
pub fn server_config(cert: &str, key: &str) -> Arc<ServerConfig> {
    server_config_with(cert, key, rustls::DEFAULT_VERSIONS, &[b"http/1.1"])
}

/// TLS 1.2 only, ALPN `http/1.1`.
pub fn server_config_tls12_only(cert: &str, key: &str) -> Arc<ServerConfig> {
    server_config_with(cert, key, &[&rustls::version::TLS12], &[b"http/1.1"])
}

/// TLS 1.3 only, ALPN `http/1.1`.
pub fn server_config_tls13_only(cert: &str, key: &str) -> Arc<ServerConfig> {
    server_config_with(cert, key, &[&rustls::version::TLS13], &[b"http/1.1"])
}

/// TLS 1.2 + 1.3 and no ALPN at all (server ignores the client's offer).
pub fn server_config_no_alpn(cert: &str, key: &str) -> Arc<ServerConfig> {
    server_config_with(cert, key, rustls::DEFAULT_VERSIONS, &[])
}

/// Like [`server_config`], but the handshake fails unless the client presents
/// a certificate chaining to `data/ca.pem` (e.g. `client.pem`/`client.key`).
pub fn server_config_client_auth(cert: &str, key: &str) -> Arc<ServerConfig> {
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(root_store("ca.pem")), provider())
            .build()
            .expect("client verifier");
    let mut cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(load_certs(cert), load_key(key))
        .expect("server certificate/key");
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(cfg)
}

/// A plain rustls client config trusting only `data/<ca>`, ALPN `http/1.1`,
/// for tests that talk to a server directly (not through curlew).
pub fn client_config(ca: &str) -> Arc<ClientConfig> {
    let mut cfg = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(root_store(ca))
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(cfg)
}

/// [`client_config`] presenting `cert`/`key` as its client certificate.
pub fn client_config_with_cert(ca: &str, cert: &str, key: &str) -> Arc<ClientConfig> {
    let mut cfg = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(root_store(ca))
        .with_client_auth_cert(load_certs(cert), load_key(key))
        .expect("client certificate/key");
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(cfg)
}
