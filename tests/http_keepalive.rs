//! Connection reuse on real sockets: limits, `Connection: close`, dead pooled
//! connections, forbid_reuse / fresh_connect, repeated `Easy::perform`.
//!
//! The retry rules (POST body sent again, never retried twice), the client's
//! own `Connection: close` and bytes arriving on an idle connection are tested
//! step by step in `src/sim/tests/keepalive.rs`.

mod support;

use std::time::{Duration, Instant};

use curlew::{Easy, Multi};
use support::client::*;
use support::http_server::*;

#[test]
fn two_hundred_transfers_over_ten_connections() {
    let srv = Server::start(keep_alive_responder(b"hello keep-alive".to_vec()));
    let mut m = Multi::new();
    m.set_max_host_connections(10);
    for i in 0..200 {
        m.add(Easy::new(&srv.url(&format!("/item/{i}"))).unwrap());
    }
    let deadline = Instant::now() + RUN_BOUND;
    let mut results = std::collections::HashMap::new();
    while m.running() > 0 {
        assert!(Instant::now() < deadline, "stuck: {m:?}");
        m.poll(Some(Duration::from_millis(100))).unwrap();
        assert!(m.connection_counts().0 <= 10, "{m:?}");
        while let Some(msg) = m.info_read() {
            results.insert(msg.id, msg.result);
        }
    }
    assert_eq!(results.len(), 200);
    let mut connects = 0;
    for (id, r) in results {
        r.unwrap();
        let e = m.remove(id).unwrap();
        assert_eq!(e.collected().unwrap().body, b"hello keep-alive");
        assert_eq!(e.info().response_code, 200);
        connects += e.info().num_connects as usize;
    }
    assert!(srv.accepted() <= 10, "accepted {}", srv.accepted());
    assert_eq!(connects, srv.accepted());
    assert_eq!(srv.requests(), 200);
    let mut paths: Vec<String> = srv.request_log().into_iter().map(|r| r.target).collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 200, "every transfer sent its own request once");
}

#[test]
fn connection_close_is_honoured() {
    let srv = Server::start(routes(|req| match req.path() {
        "/close" => Response::ok("bye").close(),
        _ => Response::ok("hi"),
    }));
    let mut m = Multi::new();
    let id = m.add(Easy::new(&srv.url("/close")).unwrap());
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert_eq!(f.body(), b"bye");
    assert_eq!(
        m.connection_counts(),
        (0, 0),
        "closed connection not pooled"
    );
    let id = m.add(Easy::new(&srv.url("/next")).unwrap());
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert!(!f.easy.info().reused);
    assert_eq!(f.easy.info().num_connects, 1);
    assert_eq!(srv.accepted(), 2);
    // ... and this one is kept.
    let id = m.add(Easy::new(&srv.url("/again")).unwrap());
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert!(f.easy.info().reused);
    assert_eq!(srv.accepted(), 2);
}

#[test]
fn connection_close_with_a_queue_waiting_for_the_slot() {
    let srv = Server::start(routes(|_| Response::ok("once").close()));
    let mut m = Multi::new();
    m.set_max_host_connections(1);
    for _ in 0..5 {
        m.add(Easy::new(&srv.url("/")).unwrap());
    }
    let r = finish(&mut m);
    assert_eq!(r.len(), 5);
    for f in r.values() {
        f.unwrap();
        assert_eq!(f.body(), b"once");
        assert_eq!(f.easy.info().num_connects, 1);
    }
    assert_eq!(srv.accepted(), 5);
}

#[test]
fn max_total_connections_across_two_servers() {
    let a = Server::start(keep_alive_responder(b"A".to_vec()));
    let b = Server::start(keep_alive_responder(b"B".to_vec()));
    let mut m = Multi::new();
    m.set_max_total_connections(3);
    for i in 0..30 {
        let srv = if i % 2 == 0 { &a } else { &b };
        m.add(Easy::new(&srv.url("/")).unwrap());
    }
    let deadline = Instant::now() + RUN_BOUND;
    let mut done = Vec::new();
    while m.running() > 0 {
        assert!(Instant::now() < deadline, "stuck: {m:?}");
        m.poll(Some(Duration::from_millis(100))).unwrap();
        let (open, idle) = m.connection_counts();
        assert!(open <= 3 && idle <= open, "{m:?}");
        while let Some(msg) = m.info_read() {
            done.push(msg);
        }
    }
    assert_eq!(done.len(), 30);
    let (mut got_a, mut got_b) = (0, 0);
    for msg in done {
        msg.result.unwrap();
        match &m.remove(msg.id).unwrap().collected().unwrap().body[..] {
            b"A" => got_a += 1,
            b"B" => got_b += 1,
            other => panic!("unexpected body {other:?}"),
        }
    }
    assert_eq!((got_a, got_b), (15, 15));
    assert_eq!(a.requests() + b.requests(), 30);
    assert!(a.accepted() >= 1 && b.accepted() >= 1);
}

/// A server whose connections serve `serve` requests and then read one more
/// request head and close without answering it: the client finds out only
/// after sending on the pooled connection.
fn one_shot_server(serve: usize) -> Server {
    Server::start(move |c: &mut Conn| {
        for _ in 0..serve {
            let Some(req) = c.read_request() else { return };
            let body = format!("{} on {}", req.path(), c.id());
            c.respond(200, &[], body.as_bytes());
        }
        // The next request is read (so the client has sent it), then the
        // connection goes away without a byte of answer.
        let _ = c.read_request();
        c.close();
    })
}

#[test]
fn dead_pooled_connection_is_retried_once() {
    let srv = one_shot_server(1);
    let mut m = Multi::new();
    let id = m.add(Easy::new(&srv.url("/first")).unwrap());
    finish(&mut m)[&id].unwrap();
    // The request goes out on the pooled connection, which dies unanswered.
    let id = m.add(Easy::new(&srv.url("/second")).unwrap());
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert_eq!(f.body(), b"/second on 1");
    assert_eq!(f.easy.info().num_connects, 1);
    assert!(!f.easy.info().reused);
    assert_eq!(srv.accepted(), 2);
    let log: Vec<String> = srv.request_log().into_iter().map(|r| r.target).collect();
    assert_eq!(log, ["/first", "/second", "/second"]);
}

#[test]
fn server_closing_idle_connection_silently() {
    // Serves exactly one request per connection, then closes without saying so.
    let srv = Server::start(|c: &mut Conn| {
        if let Some(req) = c.read_request() {
            let body = format!("{} on {}", req.path(), c.id());
            c.respond(200, &[], body.as_bytes());
        }
    });
    let mut m = Multi::new();
    for i in 0..5 {
        let id = m.add(Easy::new(&srv.url(&format!("/{i}"))).unwrap());
        let f = finish(&mut m).remove(&id).unwrap();
        f.unwrap();
        assert_eq!(f.body(), format!("/{i} on {i}").as_bytes());
    }
    assert_eq!(srv.accepted(), 5);
    assert_eq!(srv.requests(), 5);
}

#[test]
fn forbid_reuse_closes_after_the_transfer() {
    let srv = Server::start(keep_alive_responder(b"x".to_vec()));
    let mut m = Multi::new();
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.forbid_reuse(true);
    let id = m.add(e);
    finish(&mut m)[&id].unwrap();
    assert_eq!(m.connection_counts(), (0, 0));
    let id = m.add(Easy::new(&srv.url("/")).unwrap());
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert!(!f.easy.info().reused);
    assert_eq!(srv.accepted(), 2);
}

#[test]
fn fresh_connect_opens_a_new_connection() {
    let srv = Server::start(keep_alive_responder(b"x".to_vec()));
    let mut m = Multi::new();
    let id = m.add(Easy::new(&srv.url("/")).unwrap());
    finish(&mut m)[&id].unwrap();
    assert_eq!(m.connection_counts(), (1, 1));
    let mut e = Easy::new(&srv.url("/")).unwrap();
    e.fresh_connect(true);
    let id = m.add(e);
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert!(!f.easy.info().reused);
    assert_eq!(f.easy.info().num_connects, 1);
    assert_eq!(srv.accepted(), 2);
    // Both connections are pooled; a normal transfer reuses one.
    assert_eq!(m.connection_counts(), (2, 2));
    let id = m.add(Easy::new(&srv.url("/")).unwrap());
    let f = finish(&mut m).remove(&id).unwrap();
    f.unwrap();
    assert!(f.easy.info().reused);
    assert_eq!(f.easy.info().num_connects, 0);
    assert_eq!(srv.accepted(), 2);
}

#[test]
fn easy_perform_twice_reuses_the_connection() {
    let srv = Server::start(keep_alive_responder(b"0123456789".to_vec()));
    let mut e = Easy::new(&srv.url("/p")).unwrap();
    e.timeout(Some(RUN_BOUND));
    e.perform().unwrap();
    assert!(!e.info().reused);
    assert_eq!(e.info().num_connects, 1);
    assert_eq!(e.collected().unwrap().body, b"0123456789");
    e.perform().unwrap();
    assert!(e.info().reused);
    assert_eq!(srv.accepted(), 1);
    assert_eq!(srv.requests(), 2);
    // The info describes the second transfer only (curl resets it per perform).
    assert_eq!(e.info().num_connects, 0);
    assert_eq!(e.info().size_download, 10);
    assert_eq!(e.info().header_size, srv_head_len(10));
    // The Collector handler keeps what it got: both bodies.
    assert_eq!(e.collected().unwrap().body, b"01234567890123456789");
    // A changed URL on the same host still reuses.
    e.url(&srv.url("/q")).unwrap();
    e.perform().unwrap();
    assert!(e.info().reused);
    assert!(e.info().effective_url.ends_with("/q"));
    assert_eq!(srv.accepted(), 1);
}

/// Length of the head the test server writes for a 200 with a body of `n`.
fn srv_head_len(n: usize) -> u64 {
    format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n").len() as u64
}
