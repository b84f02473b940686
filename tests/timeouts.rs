//! Timeouts (total, connect incl. TLS handshake) and connection failures
//! (refused, unresolvable) on real sockets. Only the error kind is asserted.
//!
//! The driver logic of timeouts (each at its exact deadline, the low-speed
//! limit, the connect timeout not limiting the transfer, a transfer queued for
//! a connection slot) is tested on fake time in `src/sim/tests/timeouts.rs`;
//! this file keeps one real-socket smoke test per kind.

mod support;

use std::time::Duration;

use curlew::{Easy, ErrorKind, Multi};
use support::client::*;
use support::http_server::*;

#[test]
fn total_timeout_against_a_silent_server() {
    let srv = silent_server();
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.timeout(Some(Duration::from_millis(200)));
    let f = run_one(e);
    assert_eq!(f.kind(), Some(ErrorKind::OperationTimedout));
    assert!(f.result.as_ref().unwrap_err().is_timeout());
    assert_eq!(srv.requests(), 1);
    says_where(&f, &format!("127.0.0.1 port {}", srv.port()));
}

/// The error text names the host and port and the time it took ("after N ms"), as curl's
/// "Failed to connect to HOST port PORT after N ms" does.
fn says_where(f: &Finished, host_port: &str) {
    let text = f.result.as_ref().unwrap_err().to_string();
    assert!(text.contains(host_port), "{text:?} lacks {host_port:?}");
    let after = text.split(" after ").nth(1).unwrap_or_default();
    let ms = after.split(" ms").next().unwrap_or_default();
    assert!(
        !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit()),
        "{text:?} lacks the elapsed time"
    );
}

#[test]
fn connect_timeout_covers_the_tls_handshake() {
    // A plain TCP server that accepts and reads, but never answers the
    // ClientHello.
    let srv = Server::start(|c: &mut Conn| {
        c.read_to_eof();
    });
    let mut e = Easy::new(&srv.url("/").replace("http:", "https:")).unwrap();
    e.connect_timeout(Duration::from_millis(300))
        .ca_file(support::tls::ca_path());
    let f = run_one(e);
    assert_eq!(f.kind(), Some(ErrorKind::OperationTimedout));
    assert!(srv.accepted() >= 1);
    says_where(&f, &format!("127.0.0.1 port {}", srv.port()));
}

#[test]
fn connect_timeout_covers_the_tls_handshake_with_several_addresses() {
    // `localhost` has two addresses (127.0.0.1, ::1); the server listens on
    // the first only. TCP to it succeeds, the handshake stalls: that is a
    // timeout, not "could not connect" to the second address.
    let srv = Server::start(|c: &mut Conn| {
        c.read_to_eof();
    });
    let url = srv
        .url_with_host("localhost", "/")
        .replace("http:", "https:");
    let mut e = Easy::new(&url).unwrap();
    e.connect_timeout(Duration::from_millis(300))
        .ca_file(support::tls::ca_path());
    let f = run_one(e);
    assert_eq!(
        f.kind(),
        Some(ErrorKind::OperationTimedout),
        "{:?}",
        f.result
    );
}

#[test]
fn connection_refused() {
    let addr = support::refused_addr();
    let f = run_one(Easy::new(&format!("http://{addr}/")).unwrap());
    assert_eq!(f.kind(), Some(ErrorKind::CouldntConnect));
    assert!(f.result.as_ref().unwrap_err().is_connect());
    says_where(&f, &format!("127.0.0.1 port {}", addr.port()));
}

#[test]
fn unresolvable_host() {
    let f = run_one(Easy::new("http://nosuchhost.invalid/").unwrap());
    assert_eq!(f.kind(), Some(ErrorKind::CouldntResolveHost));
    let text = f.result.as_ref().unwrap_err().to_string();
    assert!(
        text.starts_with("could not resolve host: nosuchhost.invalid"),
        "{text:?}"
    );
}

#[test]
fn failures_do_not_disturb_other_transfers() {
    let good = Server::start(keep_alive_responder(b"good".to_vec()));
    let silent = silent_server();
    let mut m = Multi::new();
    let mut slow = Easy::new(&silent.url("/")).unwrap();
    slow.timeout(Some(Duration::from_millis(200)));
    let t = m.add(slow);
    let refused = m.add(Easy::new(&format!("http://{}/", support::refused_addr())).unwrap());
    let unresolved = m.add(Easy::new("http://nosuchhost.invalid/").unwrap());
    let ok: Vec<_> = (0..5)
        .map(|_| m.add(Easy::new(&good.url("/")).unwrap()))
        .collect();
    let r = finish(&mut m);
    assert_eq!(r[&t].kind(), Some(ErrorKind::OperationTimedout));
    assert_eq!(r[&refused].kind(), Some(ErrorKind::CouldntConnect));
    assert_eq!(r[&unresolved].kind(), Some(ErrorKind::CouldntResolveHost));
    for id in ok {
        assert_eq!(r[&id].unwrap().body(), b"good");
    }
}
