//! TLS failures, each a distinct, documented error (see SECURITY.md, "TLS errors"):
//!
//! | case | kind | how to tell it apart |
//! |---|---|---|
//! | unknown CA | `PeerFailedVerification` | source `CertificateError::UnknownIssuer` |
//! | expired certificate | `PeerFailedVerification` | source `CertificateError::Expired*` |
//! | wrong host name | `PeerFailedVerification` | source `CertificateError::NotValidForName*` |
//! | server speaks only TLS 1.0/1.1 | `SslConnectError` | detail names `ServerDoesNotSupportTls12Or13` |
//! | server answers with a protocol_version alert | `SslConnectError` | detail names `ProtocolVersion` |
//! | client certificate required, none sent | `SslConnectError` | detail names `CertificateRequired` (TLS 1.3) |
//! | CA file missing or without certificates | `SslCacertBadFile` | |
//! | plain HTTP server on an https URL | `SslConnectError` | |
//! | truncation without close_notify | `RecvError` | detail names close_notify |
//!
//! Every failing transfer runs beside healthy transfers in the same `Multi`. rustls cannot
//! serve TLS 1.0/1.1, so that server is a hand-made ServerHello (no openssl needed).

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;

use curlew::{Easy, Error, ErrorKind};
use rustls::CertificateError;
use support::client::*;
use support::http_server::*;
use support::tls::*;

/// The transfer of `url` (configured by `setup`) beside healthy ones; its error (it must fail).
#[track_caller]
fn fail(url: &str, setup: impl FnOnce(&mut Easy)) -> Error {
    let f = beside_healthy(url, setup);
    f.result.expect_err("the transfer must fail")
}

/// The rustls certificate error behind a verification failure.
fn cert_error(e: &Error) -> &CertificateError {
    let src = std::error::Error::source(e).expect("rustls error as the source");
    match src.downcast_ref::<rustls::Error>() {
        Some(rustls::Error::InvalidCertificate(c)) => c,
        other => panic!("not a certificate error: {other:?}"),
    }
}

/// A TLS server with `cert` that only handshakes; returns the bad transfer's error.
#[track_caller]
fn verification_failure(cert: &str, setup: impl FnOnce(&mut Easy)) -> Error {
    let srv = Server::start_tls(
        server_config(&format!("{cert}.pem"), &format!("{cert}.key")),
        |c: &mut Conn| {
            let _ = c.handshake();
        },
    );
    let e = fail(&srv.url("/"), setup);
    assert_eq!(e.kind(), ErrorKind::PeerFailedVerification, "{cert}: {e:?}");
    assert!(e.is_tls());
    assert_eq!(srv.requests(), 0);
    e
}

#[test]
fn unknown_ca() {
    let e = verification_failure("untrusted", |e| {
        e.ca_file(ca_path());
    });
    assert_eq!(cert_error(&e), &CertificateError::UnknownIssuer, "{e}");
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");
}

#[test]
fn system_roots_do_not_trust_the_test_ca() {
    let e = verification_failure("server", |_| {});
    assert_eq!(cert_error(&e), &CertificateError::UnknownIssuer, "{e}");
}

#[test]
fn expired_certificate() {
    let e = verification_failure("expired", |e| {
        e.ca_file(ca_path());
    });
    assert!(
        matches!(
            cert_error(&e),
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        ),
        "{e:?}"
    );
    assert!(e.to_string().to_lowercase().contains("expired"), "{e}");
}

#[test]
fn wrong_host_name() {
    let e = verification_failure("wronghost", |e| {
        e.ca_file(ca_path());
    });
    assert!(
        matches!(
            cert_error(&e),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("not valid for name"), "{e}");
}

/// A fake server speaking only an old TLS version: it reads the ClientHello record and
/// answers with `answer`, then reads what the client sends back (its alert) until EOF.
fn old_tls_server(answer: Vec<u8>) -> (String, std::thread::JoinHandle<Vec<u8>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/", l.local_addr().unwrap());
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(support::TIMEOUT)).unwrap();
        let mut hdr = [0u8; 5];
        s.read_exact(&mut hdr).unwrap();
        assert_eq!(hdr[0], 0x16, "a handshake record (ClientHello)");
        let mut hello = vec![0u8; usize::from(u16::from_be_bytes([hdr[3], hdr[4]]))];
        s.read_exact(&mut hello).unwrap();
        s.write_all(&answer).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
        rest
    });
    (url, t)
}

/// A TLS 1.1 ServerHello record (`version` e.g. 0x0302) choosing
/// TLS_RSA_WITH_AES_128_CBC_SHA, no extensions.
fn server_hello(version: u16) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend_from_slice(&[0x42; 32]); // random
    body.push(0); // empty session id
    body.extend_from_slice(&[0x00, 0x2f]); // cipher suite
    body.push(0); // null compression
    let mut hs = vec![0x02, 0, 0, body.len() as u8];
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16];
    rec.extend_from_slice(&version.to_be_bytes());
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[test]
fn server_offering_only_tls_1_0_or_1_1() {
    for version in [0x0301u16, 0x0302] {
        let (url, t) = old_tls_server(server_hello(version));
        let e = fail(&url, |e| {
            e.ca_file(ca_path());
        });
        assert_eq!(e.kind(), ErrorKind::SslConnectError, "{e:?}");
        assert!(
            e.to_string().contains("ServerDoesNotSupportTls12Or13"),
            "{e}"
        );
        // The client told the server why: a fatal protocol_version alert (70).
        let sent = t.join().unwrap();
        assert!(
            sent.len() >= 7 && sent[0] == 0x15 && sent[5] == 2 && sent[6] == 70,
            "{sent:x?}"
        );
    }
}

#[test]
fn server_answering_with_a_protocol_version_alert() {
    // What an OpenSSL server limited to TLS 1.0/1.1 answers a TLS 1.2+ ClientHello with.
    let (url, t) = old_tls_server(vec![0x15, 0x03, 0x02, 0x00, 0x02, 0x02, 70]);
    let e = fail(&url, |e| {
        e.ca_file(ca_path());
    });
    assert_eq!(e.kind(), ErrorKind::SslConnectError, "{e:?}");
    assert!(e.to_string().contains("ProtocolVersion"), "{e}");
    t.join().unwrap();
}

#[test]
fn client_certificate_required_but_absent() {
    // TLS 1.3 (the default): the server's alert comes after the client finished its side.
    let srv = Server::start_tls(
        server_config_client_auth("server.pem", "server.key"),
        |c: &mut Conn| {
            let _ = c.handshake();
            let _ = c.read_request();
        },
    );
    let e = fail(&srv.url("/"), |e| {
        e.ca_file(ca_path());
    });
    assert_eq!(e.kind(), ErrorKind::SslConnectError, "{e:?}");
    assert!(e.to_string().contains("CertificateRequired"), "{e}");
    assert_eq!(srv.requests(), 0);
}

#[test]
fn bad_ca_file() {
    let srv = Server::start_tls(
        server_config("server.pem", "server.key"),
        keep_alive_responder(b"secure".to_vec()),
    );
    let e = fail(&srv.url("/"), |e| {
        e.ca_file(support::data_path("does-not-exist.pem"));
    });
    assert_eq!(e.kind(), ErrorKind::SslCacertBadFile, "{e:?}");
    let e = fail(&srv.url("/"), |e| {
        e.ca_file(support::data_path("ca.key")); // PEM, but no certificate in it
    });
    assert_eq!(e.kind(), ErrorKind::SslCacertBadFile, "{e:?}");
}

#[test]
fn https_to_a_plain_http_server() {
    // https:// to a server answering in plain HTTP: the handshake fails.
    let plain = Server::start(|c: &mut Conn| {
        let _ = c.read(&mut [0u8; 1]); // some of the ClientHello
        let _ = c.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    });
    let e = fail(&plain.url("/").replace("http:", "https:"), |e| {
        e.ca_file(ca_path());
    });
    assert_eq!(e.kind(), ErrorKind::SslConnectError, "{e:?}");
}

#[test]
fn truncation_without_close_notify_is_reported() {
    // A read-until-close body cut by a TCP close without close_notify: not a clean end.
    let srv = Server::start_tls(server_config("server.pem", "server.key"), |c: &mut Conn| {
        if c.read_request().is_some() {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nsome data, then cut");
            c.close_abruptly();
        }
    });
    let f = beside_healthy(&srv.url("/"), |e| {
        e.ca_file(ca_path());
    });
    let e = f.result.as_ref().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RecvError, "{e:?}");
    assert!(e.to_string().contains("close_notify"), "{e}");
    assert_eq!(f.body(), b"some data, then cut");
}

#[test]
fn truncation_of_a_content_length_body_over_tls() {
    // With close_notify but short of the Content-Length: partial file, as over TCP.
    let srv = Server::start_tls(server_config("server.pem", "server.key"), |c: &mut Conn| {
        if c.read_request().is_some() {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
            c.close();
        }
    });
    let e = fail(&srv.url("/"), |e| {
        e.ca_file(ca_path());
    });
    assert_eq!(e.kind(), ErrorKind::PartialFile, "{e:?}");
}
