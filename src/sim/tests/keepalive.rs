//! Connection reuse, deterministically: `Connection: close` keeps the connection out of the
//! pool; a server closing an idle pooled connection is noticed at once; bytes a server sends
//! on an idle connection make it unusable; and the one retry of a request on a reused
//! connection that the server closed before answering (the keep-alive race), POST body
//! included, which is never retried twice.
//!
//! `tests/http_keepalive.rs` keeps the real-socket runs of the same logic (many transfers
//! over few connections, limits across servers, `Easy::perform` reuse).

use crate::error::ErrorKind;
use crate::multi::SocketWhat;
use crate::sim::{Peer, Sim};
use crate::{Easy, TransferId};

/// Add `easy` and run until the multi waits (its request sent, as far as it got).
fn send(sim: &mut Sim, easy: Easy) -> TransferId {
    let id = sim.add(easy);
    sim.run();
    id
}

fn get(path: &str) -> Easy {
    Easy::new(&format!("http://127.0.0.1:80{path}")).unwrap()
}

/// One GET answered on a new connection, which stays in the pool.
fn first_get(sim: &mut Sim) -> Peer {
    let id = send(sim, get("/first"));
    let mut srv = sim.accept();
    srv.request();
    srv.respond(200, &[], b"first");
    sim.run();
    sim.finish(id).0.unwrap();
    assert_eq!(sim.multi.connection_counts(), (1, 1));
    srv
}

#[test]
fn connection_close_is_honoured_and_the_next_transfer_connects_again() {
    let mut sim = Sim::new();
    sim.listen(80);
    let id = send(&mut sim, get("/close"));
    let mut srv = sim.accept();
    srv.request();
    srv.respond(200, &[("Connection", "close")], b"bye");
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert_eq!(easy.collected().unwrap().body, b"bye");
    assert_eq!(sim.multi.connection_counts(), (0, 0), "not pooled");
    assert!(srv.client_closed());
    assert!(sim.watched_sockets().is_empty());
    let id = send(&mut sim, get("/next"));
    let mut srv2 = sim.accept();
    assert_eq!(srv2.id(), 1);
    srv2.request();
    srv2.respond(200, &[], b"kept");
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert!(!easy.info().reused);
    assert_eq!(sim.multi.connection_counts(), (1, 1), "this one is pooled");
}

#[test]
fn request_connection_close_keeps_the_connection_out_of_the_pool() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut e = get("/");
    e.header("Connection", "close").unwrap();
    let id = send(&mut sim, e);
    let mut srv = sim.accept();
    assert_eq!(srv.request().header("connection"), Some("close"));
    srv.respond(200, &[], b"kept open by the server");
    sim.run();
    sim.finish(id).0.unwrap();
    assert_eq!(sim.multi.connection_counts(), (0, 0));
    assert!(srv.client_closed());
}

#[test]
fn server_closing_an_idle_connection_is_noticed_at_once() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut srv = first_get(&mut sim);
    let [(fd, SocketWhat::In)] = sim.watched_sockets()[..] else {
        panic!("the idle socket is watched for reading");
    };
    srv.close();
    sim.run();
    assert_eq!(
        sim.multi.connection_counts(),
        (0, 0),
        "dropped from the pool"
    );
    assert_eq!(sim.watched(fd), None);
    assert!(srv.client_closed());
    let id = send(&mut sim, get("/second"));
    let mut srv2 = sim.accept();
    srv2.request();
    srv2.respond(200, &[], b"fresh");
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert!(!easy.info().reused);
    assert_eq!(sim.net.connects(), 2);
}

#[test]
fn unsolicited_bytes_on_an_idle_connection_are_not_the_next_answer() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut srv = first_get(&mut sim);
    // The server times the idle connection out; the multi learns of it only at checkout
    // (no run in between: the application was not polling).
    srv.write(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
    let id = send(&mut sim, get("/second"));
    assert!(srv.client_closed());
    assert!(
        srv.read_request().is_none(),
        "nothing sent on the dead connection"
    );
    let mut srv2 = sim.accept();
    assert_eq!(srv2.request().target, "/second");
    srv2.respond(200, &[], b"fresh");
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert_eq!(easy.info().response_code, 200);
    assert_eq!(easy.collected().unwrap().body, b"fresh");
}

#[test]
fn request_on_a_reused_connection_closed_unanswered_is_retried_once() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut srv = first_get(&mut sim);
    let id = send(&mut sim, get("/second"));
    // The request went out on the pooled connection; the server reads it and goes away.
    assert_eq!(srv.request().target, "/second");
    srv.close();
    sim.run();
    assert!(sim.result(id).is_none(), "retried, not failed");
    let mut srv2 = sim.accept();
    assert_eq!(srv2.request().target, "/second");
    srv2.respond(200, &[], b"second");
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert_eq!(easy.collected().unwrap().body, b"second");
    assert!(!easy.info().reused);
    assert_eq!(easy.info().num_connects, 1);
    assert_eq!(sim.net.connects(), 2);
}

#[test]
fn the_retry_sends_the_post_body_again() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut srv = first_get(&mut sim);
    let mut e = get("/post");
    e.body(&b"the body"[..]);
    let id = send(&mut sim, e);
    assert_eq!(srv.request().body, b"the body");
    srv.close();
    sim.run();
    let mut srv2 = sim.accept();
    let again = srv2.request();
    assert_eq!(
        (again.method.as_str(), &again.body[..]),
        ("POST", &b"the body"[..])
    );
    srv2.respond(200, &[], b"ok");
    sim.run();
    sim.finish(id).0.unwrap();
}

#[test]
fn a_retried_request_is_not_retried_again() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut srv = first_get(&mut sim);
    let id = send(&mut sim, get("/2"));
    srv.request();
    srv.close();
    sim.run();
    let mut srv2 = sim.accept();
    srv2.request();
    srv2.close();
    sim.run();
    let (r, _) = sim.finish(id);
    assert_eq!(r.unwrap_err().kind(), ErrorKind::GotNothing);
    assert_eq!(sim.net.connects(), 2);
}

#[test]
fn a_partial_answer_on_a_reused_connection_is_not_retried() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut srv = first_get(&mut sim);
    let id = send(&mut sim, get("/2"));
    srv.request();
    srv.write(b"HTTP/1.1 200 OK\r\nContent-Len");
    srv.close();
    sim.run();
    let (r, _) = sim.finish(id);
    assert!(r.is_err());
    assert_eq!(sim.net.connects(), 1, "bytes came back: no retry");
}
