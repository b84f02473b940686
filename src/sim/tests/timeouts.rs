//! Timeouts on fake time, each checked at its exact instant: the total timeout against a
//! silent server and in the middle of a body, the connect timeout against a peer that never
//! accepts (and that it does not limit the rest of the transfer), the total timeout of a
//! transfer queued for a connection slot, and the low-speed limit (tripped by a drip, not by
//! a steady stream).
//!
//! Moved here from `tests/timeouts.rs`, which keeps the real-socket smoke tests (silent
//! server, TLS handshake under the connect timeout, refused and unresolvable addresses).

use std::time::Duration;

use crate::error::ErrorKind;
use crate::sim::{Listen, Sim};
use crate::Easy;

const MS: Duration = Duration::from_millis(1);

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn total_timeout_against_a_silent_server_fires_at_its_deadline() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut e = Easy::new("http://127.0.0.1:80/").unwrap();
    e.timeout(Some(secs(5)));
    let id = sim.add(e);
    sim.run();
    let mut srv = sim.accept();
    srv.request();
    assert_eq!(sim.timer(), Some(secs(5)));
    sim.advance(secs(5) - MS);
    assert!(sim.result(id).is_none(), "timed out early");
    sim.advance(MS);
    let (r, _) = sim.finish(id);
    let e = r.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationTimedout);
    let text = e.to_string();
    assert!(text.contains("after 5000 ms"), "{text}");
    assert!(text.contains("127.0.0.1 port 80"), "{text}");
    assert!(srv.client_closed(), "the connection was closed");
    assert_eq!(sim.multi.connection_counts(), (0, 0));
}

#[test]
fn total_timeout_in_the_middle_of_the_body_keeps_what_arrived() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut e = Easy::new("http://127.0.0.1:80/").unwrap();
    e.timeout(Some(secs(2)));
    let id = sim.add(e);
    sim.run();
    let mut srv = sim.accept();
    srv.request();
    srv.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst part");
    sim.advance(secs(1));
    assert!(sim.result(id).is_none());
    sim.advance(secs(1));
    let (r, easy) = sim.finish(id);
    assert_eq!(r.unwrap_err().kind(), ErrorKind::OperationTimedout);
    assert_eq!(easy.collected().unwrap().body, b"first part");
    assert_eq!(easy.info().response_code, 200);
}

#[test]
fn connect_timeout_against_a_peer_that_never_accepts() {
    let mut sim = Sim::new();
    sim.net
        .listen("127.0.0.1:81".parse().unwrap(), Listen::Blackhole);
    let mut e = Easy::new("http://127.0.0.1:81/").unwrap();
    e.connect_timeout(secs(3));
    let id = sim.add(e);
    sim.run();
    assert_eq!(sim.net.connects(), 1);
    assert_eq!(sim.timer(), Some(secs(3)));
    sim.advance(secs(3) - MS);
    assert!(sim.result(id).is_none(), "timed out early");
    sim.advance(MS);
    let (r, easy) = sim.finish(id);
    let e = r.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationTimedout, "{e}");
    assert!(e.to_string().contains("after 3000 ms"), "{e}");
    assert_eq!(easy.info().num_connects, 0);
    assert_eq!(sim.multi.connection_counts(), (0, 0));
    assert!(sim.watched_sockets().is_empty());
}

#[test]
fn connect_timeout_does_not_limit_the_transfer() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut e = Easy::new("http://127.0.0.1:80/").unwrap();
    e.connect_timeout(secs(1));
    let id = sim.add(e);
    sim.run();
    let mut srv = sim.accept();
    srv.request();
    // Connected at once; the answer comes long after the connect timeout.
    assert_eq!(sim.timer(), None, "no timer once connected");
    sim.advance(secs(30));
    srv.respond(200, &[], b"late but fine");
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert_eq!(easy.collected().unwrap().body, b"late but fine");
}

#[test]
fn total_timeout_while_waiting_for_a_connection_slot() {
    let mut sim = Sim::new();
    sim.listen(80);
    sim.multi.set_max_host_connections(1);
    let hog = sim.add(Easy::new("http://127.0.0.1:80/hog").unwrap());
    let mut waiter = Easy::new("http://127.0.0.1:80/waiter").unwrap();
    waiter.timeout(Some(secs(2)));
    let waiter = sim.add(waiter);
    sim.run();
    let mut srv = sim.accept();
    assert_eq!(srv.request().target, "/hog");
    sim.advance(secs(2) - MS);
    assert!(sim.result(waiter).is_none());
    sim.advance(MS);
    let (r, _) = sim.finish(waiter);
    assert_eq!(r.unwrap_err().kind(), ErrorKind::OperationTimedout);
    assert!(sim.result(hog).is_none(), "the hog runs on");
    assert_eq!(sim.net.connects(), 1, "the waiter never connected");
    assert!(srv.read_request().is_none(), "nor sent anything");
}

/// A 10000-byte body dripped `per_sec` bytes at the start of each second of fake time, with a low-speed limit
/// of 100 bytes/s over 3 s; the time at which the transfer failed, if it did within 10 s.
fn drip(per_sec: usize) -> Option<Duration> {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut e = Easy::new("http://127.0.0.1:80/").unwrap();
    e.low_speed(100, secs(3));
    let id = sim.add(e);
    sim.run();
    let mut srv = sim.accept();
    srv.request();
    srv.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\n");
    for _ in 0..10 {
        srv.write(&vec![b'x'; per_sec]);
        sim.advance(secs(1));
        if let Some(r) = sim.result(id) {
            let e = r.as_ref().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::OperationTimedout, "{e}");
            assert!(e.to_string().contains("too slow"), "{e}");
            return Some(sim.elapsed());
        }
    }
    None
}

#[test]
fn low_speed_limit_trips_at_the_end_of_a_slow_window() {
    assert_eq!(drip(10), Some(secs(3)));
    // 297 bytes in the first 3 s: one short.
    assert_eq!(drip(99), Some(secs(3)));
}

#[test]
fn low_speed_limit_spares_a_stream_at_the_limit() {
    // 300 bytes in every window of 3 s.
    assert_eq!(drip(100), None);
}
