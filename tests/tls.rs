//! HTTPS that works: CA files, `insecure`, client certificates, protocol
//! versions, ALPN, large bodies in one burst, uploads, pause, reuse. The
//! failures (unknown CA, expired, wrong host, TLS 1.0/1.1-only server, missing
//! client certificate, truncation without close_notify) are in
//! `tls_failures.rs`.

mod support;

use std::sync::{Arc, Mutex};

use curlew::{Easy, Multi};
use rustls::ProtocolVersion;
use support::client::*;
use support::http_server::*;
use support::tls::*;

fn https(cert: &str) -> Server {
    Server::start_tls(
        server_config(&format!("{cert}.pem"), &format!("{cert}.key")),
        keep_alive_responder(b"secure".to_vec()),
    )
}

fn get(url: &str) -> Easy {
    let mut e = rec_easy(url);
    e.ca_file(ca_path());
    e
}

#[test]
fn https_get_with_ca_file() {
    let srv = https("server");
    let mut m = Multi::new();
    for host in ["127.0.0.1", "localhost"] {
        let id = m.add(get(&srv.url_with_host(host, "/")));
        let f = finish(&mut m).remove(&id).unwrap();
        f.unwrap();
        assert_eq!(f.body(), b"secure");
        assert!(f.easy.info().effective_url.starts_with("https://"));
        assert!(f.easy.info().appconnect_time >= f.easy.info().connect_time);
        assert!(f.easy.info().appconnect_time <= f.easy.info().pretransfer_time);
    }
    // Host names differ: two connections, then reuse.
    let id = m.add(get(&srv.url("/")));
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert!(f.easy.info().reused);
    assert_eq!(srv.accepted(), 2);
}

#[test]
fn insecure_accepts_wrong_host_and_untrusted() {
    for cert in ["wronghost", "untrusted", "expired"] {
        let srv = https(cert);
        let mut e = rec_easy(&srv.url("/"));
        e.insecure(true);
        let f = run_one(e);
        f.unwrap();
        assert_eq!(f.body(), b"secure", "{cert}");
    }
}

/// A client-auth server; records the client certificate chain length.
fn client_auth_server(seen: Arc<Mutex<Vec<usize>>>) -> Server {
    Server::start_tls(
        server_config_client_auth("server.pem", "server.key"),
        move |c: &mut Conn| {
            if c.handshake().is_err() {
                return;
            }
            seen.lock()
                .unwrap()
                .push(c.peer_certificates().map_or(0, |v| v.len()));
            while let Some(req) = c.read_request() {
                let resp = Response::ok("authenticated");
                c.send(&req, &resp);
            }
        },
    )
}

#[test]
fn client_cert_presented() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let srv = client_auth_server(seen.clone());
    let mut e = get(&srv.url("/"));
    e.client_cert(
        support::data_path("client.pem"),
        support::data_path("client.key"),
    );
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.body(), b"authenticated");
    assert_eq!(*seen.lock().unwrap(), [1]);
}

#[test]
fn tls12_only_server() {
    let versions = Arc::new(Mutex::new(Vec::new()));
    let v = versions.clone();
    let srv = Server::start_tls(
        server_config_tls12_only("server.pem", "server.key"),
        move |c: &mut Conn| {
            if c.handshake().is_ok() {
                v.lock().unwrap().push(c.protocol_version());
            }
            while let Some(req) = c.read_request() {
                c.send(&req, &Response::ok("tls12"));
            }
        },
    );
    let f = run_one(get(&srv.url("/")));
    f.unwrap();
    assert_eq!(f.body(), b"tls12");
    assert_eq!(*versions.lock().unwrap(), [Some(ProtocolVersion::TLSv1_2)]);
}

#[test]
fn alpn_http11_is_offered() {
    let alpn = Arc::new(Mutex::new(None));
    let a = alpn.clone();
    let srv = Server::start_tls(
        server_config("server.pem", "server.key"),
        move |c: &mut Conn| {
            let _ = c.handshake();
            *a.lock().unwrap() = Some((c.alpn_protocol(), c.server_name()));
            while let Some(req) = c.read_request() {
                c.send(&req, &Response::ok("x"));
            }
        },
    );
    run_one(get(&srv.url_with_host("localhost", "/"))).unwrap();
    assert_eq!(
        *alpn.lock().unwrap(),
        Some((Some(b"http/1.1".to_vec()), Some("localhost".to_string())))
    );
}

/// Writes the whole response (head and `n` body bytes) in one write.
fn burst_server(body: Vec<u8>, content_length: bool) -> Server {
    Server::start_tls(
        server_config("server.pem", "server.key"),
        move |c: &mut Conn| {
            while c.read_request().is_some() {
                let mut out = if content_length {
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len())
                        .into_bytes()
                } else {
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec()
                };
                out.extend_from_slice(&body);
                if c.write_all(&out).is_err() || !content_length {
                    return; // graceful close (close_notify) ends a read-until-close body
                }
            }
        },
    )
}

#[test]
fn large_body_in_one_burst() {
    let body = pattern(6 << 20);
    let srv = burst_server(body.clone(), true);
    let f = run_one(get(&srv.url("/")));
    f.unwrap();
    assert_same_bytes(f.body(), &body);
    assert_eq!(f.easy.info().size_download, body.len() as u64);
}

#[test]
fn large_bodies_in_bursts_concurrently() {
    let body = pattern(3 << 20);
    let srv = burst_server(body.clone(), true);
    let mut m = Multi::new();
    for _ in 0..4 {
        m.add(get(&srv.url("/")));
    }
    let r = finish(&mut m);
    assert_eq!(r.len(), 4);
    for f in r.values() {
        f.unwrap();
        assert_same_bytes(f.body(), &body);
    }
}

#[test]
fn large_read_until_close_body_with_close_notify() {
    let body = pattern(5 << 20);
    let srv = burst_server(body.clone(), false);
    let f = run_one(get(&srv.url("/")));
    f.unwrap();
    assert_same_bytes(f.body(), &body);
}

#[test]
fn tls_upload() {
    let srv = Server::start_tls(
        server_config("server.pem", "server.key"),
        routes(|req| Response::ok(format!("{}", req.body.len()))),
    );
    let data = pattern(2 << 20);
    let mut e = get(&srv.url("/"));
    e.body(data.clone());
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.body(), b"2097152");
    assert_same_bytes(&srv.last_request().unwrap().body, &data);
}

#[test]
fn unpause_after_the_server_finished_sending() {
    use curlew::{Ctx, Direction, Flow, Handler};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    struct PauseFirst {
        paused: Arc<AtomicBool>,
        body: Vec<u8>,
    }
    impl Handler for PauseFirst {
        fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
            if !self.paused.swap(true, Ordering::SeqCst) {
                return Flow::Pause;
            }
            self.body.extend_from_slice(data);
            Flow::Continue
        }
    }
    let body = pattern(100_000);
    let sent = Arc::new(AtomicBool::new(false));
    let (b, s) = (body.clone(), sent.clone());
    let srv = Server::start_tls(
        server_config("server.pem", "server.key"),
        move |c: &mut Conn| {
            if c.read_request().is_some() {
                c.respond(200, &[], &b);
                s.store(true, Ordering::SeqCst);
                c.peer_closed();
            }
        },
    );
    let paused = Arc::new(AtomicBool::new(false));
    let mut e = Easy::with_handler(
        &srv.url("/"),
        PauseFirst {
            paused: paused.clone(),
            body: Vec::new(),
        },
    )
    .unwrap();
    e.ca_file(ca_path());
    let mut m = Multi::new();
    let id = m.add(e);
    let deadline = Instant::now() + RUN_BOUND;
    while !(paused.load(Ordering::SeqCst) && sent.load(Ordering::SeqCst)) {
        assert!(Instant::now() < deadline, "no pause");
        m.poll(Some(Duration::from_millis(5))).unwrap();
    }
    // Everything is in the client's socket buffer or inside rustls by now;
    // no further readiness event is coming.
    for _ in 0..5 {
        m.poll(Some(Duration::from_millis(5))).unwrap();
    }
    assert_eq!(m.running(), 1);
    m.unpause(id, Direction::Recv);
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert_same_bytes(&f.easy.handler::<PauseFirst>().unwrap().body, &body);
}

#[test]
fn many_tls_transfers_over_few_connections() {
    let srv = Server::start_tls(
        server_config("server.pem", "server.key"),
        routes(|req| Response::ok(req.path().to_string())),
    );
    let mut m = Multi::new();
    m.set_max_host_connections(4);
    let ids: Vec<_> = (0..100)
        .map(|i| m.add(get(&srv.url(&format!("/{i}")))))
        .collect();
    let r = finish(&mut m);
    let mut connects = 0;
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(r[id].unwrap().body(), format!("/{i}").as_bytes());
        connects += r[id].easy.info().num_connects as usize;
    }
    assert!(srv.accepted() <= 4, "accepted {}", srv.accepted());
    assert_eq!(connects, srv.accepted());
}

#[test]
fn tls_perform_twice_reuses() {
    let srv = https("server");
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.ca_file(ca_path()).timeout(Some(RUN_BOUND));
    e.perform().unwrap();
    assert!(!e.info().reused);
    assert!(e.info().appconnect_time > std::time::Duration::ZERO);
    e.perform().unwrap();
    assert!(e.info().reused);
    assert_eq!(e.info().num_connects, 0);
    assert_eq!(e.collected().unwrap().body, b"securesecure");
    assert_eq!(srv.accepted(), 1);
}

/// A TLS server recording the negotiated version of each connection.
fn versioned(cfg: Arc<rustls::ServerConfig>) -> (Server, Arc<Mutex<Vec<Option<ProtocolVersion>>>>) {
    let versions = Arc::new(Mutex::new(Vec::new()));
    let v = versions.clone();
    let srv = Server::start_tls(cfg, move |c: &mut Conn| {
        if c.handshake().is_ok() {
            v.lock().unwrap().push(c.protocol_version());
        }
        while let Some(req) = c.read_request() {
            c.send(&req, &Response::ok("v"));
        }
    });
    (srv, versions)
}

#[test]
fn ssl_version_bounds_what_is_negotiated() {
    use curlew::{ErrorKind, TlsVersion};
    // The highest allowed is what a server of both versions agrees to.
    let (srv, seen) = versioned(server_config("server.pem", "server.key"));
    let mut e = get(&srv.url("/"));
    e.ssl_version(None, Some(TlsVersion::Tls12)).unwrap();
    run_one(e).unwrap();
    let mut e = get(&srv.url("/"));
    e.ssl_version(Some(TlsVersion::Tls13), None).unwrap();
    run_one(e).unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            Some(ProtocolVersion::TLSv1_2),
            Some(ProtocolVersion::TLSv1_3)
        ]
    );
    // A server outside the bounds: curl's 35.
    let (old, _) = versioned(server_config_tls12_only("server.pem", "server.key"));
    let mut e = get(&old.url("/"));
    e.ssl_version(Some(TlsVersion::Tls13), None).unwrap();
    assert_eq!(run_one(e).kind(), Some(ErrorKind::SslConnectError));
    let (new, _) = versioned(server_config_tls13_only("server.pem", "server.key"));
    let mut e = get(&new.url("/"));
    e.ssl_version(None, Some(TlsVersion::Tls12)).unwrap();
    assert_eq!(run_one(e).kind(), Some(ErrorKind::SslConnectError));
    let mut e = get(&new.url("/"));
    let bad = e.ssl_version(Some(TlsVersion::Tls13), Some(TlsVersion::Tls12));
    assert_eq!(bad.err().unwrap().kind(), ErrorKind::BadFunctionArgument);
}

#[test]
fn the_tool_takes_tlsv1_x_and_tls_max() {
    let (old, _) = versioned(server_config_tls12_only("server.pem", "server.key"));
    let (srv, seen) = versioned(server_config("server.pem", "server.key"));
    let ca = ca_path();
    let ca = ca.to_str().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_curlew"))
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(
        run(&["-s", "--cacert", ca, "--tlsv1.3", &old.url("/")]),
        Some(35)
    );
    assert_eq!(
        run(&["-s", "--cacert", ca, "--tlsv1.2", &old.url("/")]),
        Some(0)
    );
    assert_eq!(
        run(&["-s", "--cacert", ca, "--tls-max", "1.2", &srv.url("/")]),
        Some(0)
    );
    assert_eq!(*seen.lock().unwrap(), [Some(ProtocolVersion::TLSv1_2)]);
    assert_eq!(
        run(&["-s", "--cacert", ca, "--tls-max", "1.1", &srv.url("/")]),
        Some(4)
    );
}

/// The SHA-256 pin of the test server certificate's public key, and its DER SPKI.
fn server_pin() -> (String, Vec<u8>) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let certs = load_certs("server.pem");
    let ee = webpki::EndEntityCert::try_from(&certs[0]).unwrap();
    let spki = ee.subject_public_key_info().as_ref().to_vec();
    let hash = sha2::Sha256::digest(&spki);
    (
        format!(
            "sha256//{}",
            base64::engine::general_purpose::STANDARD.encode(hash)
        ),
        spki,
    )
}

#[test]
fn pinned_public_keys_by_hash_and_file() {
    use curlew::ErrorKind;
    let srv = https("server");
    let (pin, spki) = server_pin();
    let mut e = get(&srv.url("/"));
    e.pinned_public_key(Some(&format!(
        "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=;{pin}"
    )))
    .unwrap();
    run_one(e).unwrap();
    let mut e = get(&srv.url("/"));
    e.pinned_public_key(Some("sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
        .unwrap();
    let f = run_one(e);
    assert_eq!(f.kind(), Some(ErrorKind::SslPinnedPubKeyNotMatch));
    assert_eq!(ErrorKind::SslPinnedPubKeyNotMatch.curl_code(), 90);
    let dir = std::env::temp_dir().join(format!("curlew-pin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let der = dir.join("key.der");
    std::fs::write(&der, &spki).unwrap();
    let mut e = get(&srv.url("/"));
    e.pinned_public_key(Some(der.to_str().unwrap())).unwrap();
    run_one(e).unwrap();
    assert!(get(&srv.url("/"))
        .pinned_public_key(Some("sha256//short"))
        .is_err());
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_curlew"))
        .args(["-s", "--cacert", ca_path().to_str().unwrap()])
        .args([
            "--pinnedpubkey",
            "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            &srv.url("/"),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(90));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ca_blob_ca_path_and_a_handed_in_config() {
    let srv = https("server");
    let pem = std::fs::read(ca_path()).unwrap();
    let mut e = rec_easy(&srv.url("/"));
    e.ca_blob(pem.clone());
    run_one(e).unwrap();
    let dir = std::env::temp_dir().join(format!("curlew-capath-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("junk.txt"), b"not a certificate").unwrap();
    std::fs::write(dir.join("test-ca.pem"), &pem).unwrap();
    let mut e = rec_easy(&srv.url("/"));
    e.ca_path(&dir);
    run_one(e).unwrap();
    // No roots of ours: the system's do not know the test CA.
    let f = run_one(rec_easy(&srv.url("/")));
    assert_eq!(f.kind(), Some(curlew::ErrorKind::PeerFailedVerification));
    // A whole rustls configuration handed in.
    let mut e = rec_easy(&srv.url("/"));
    e.tls_config(Some(client_config("ca.pem")));
    let f = run_one(e);
    f.unwrap();
    assert_eq!(f.body(), b"secure");
    let _ = std::fs::remove_dir_all(&dir);
}

/// New connections to a server seen before resume its TLS session (rustls's client cache,
/// shared by the multi's transfers), as curl does with its session cache.
#[test]
fn a_second_connection_resumes_the_tls_session() {
    let kinds = Arc::new(Mutex::new(Vec::new()));
    let k = kinds.clone();
    let srv = Server::start_tls(
        server_config("server.pem", "server.key"),
        move |c: &mut Conn| {
            let _ = c.handshake();
            // The kind is known once the client's first flight is in: read the request first.
            while let Some(req) = c.read_request() {
                k.lock().unwrap().push(c.handshake_kind());
                c.send(&req, &Response::ok("r"));
            }
        },
    );
    let mut m = Multi::new();
    for _ in 0..3 {
        let mut e = get(&srv.url("/"));
        e.fresh_connect(true);
        let id = m.add(e);
        finish(&mut m).remove(&id).unwrap().unwrap();
    }
    let kinds = kinds.lock().unwrap();
    assert_eq!(kinds.len(), 3);
    assert_eq!(kinds[0], Some(rustls::HandshakeKind::Full));
    assert!(
        kinds[1..]
            .iter()
            .all(|k| *k == Some(rustls::HandshakeKind::Resumed)),
        "{kinds:?}"
    );
}
