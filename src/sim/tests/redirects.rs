//! Redirects, hop by hop: a chain followed over one keep-alive connection (each hop's request
//! read by the test in order), a hop to another port on a connection of its own while the
//! first goes back to the pool, and a total timeout that covers the whole chain, not each hop.
//!
//! `tests/http_redirects.rs` keeps the method, body and credential rules on real sockets.

use std::time::Duration;

use crate::error::ErrorKind;
use crate::sim::Sim;
use crate::Easy;

fn follow(url: &str) -> Easy {
    let mut e = Easy::new(url).unwrap();
    e.follow_location(true);
    e
}

#[test]
fn chain_over_one_keep_alive_connection() {
    let mut sim = Sim::new();
    sim.listen(80);
    let id = sim.add(follow("http://127.0.0.1:80/1"));
    sim.run();
    let mut srv = sim.accept();
    for (from, status, to) in [("/1", 301, "/2"), ("/2", 308, "/3"), ("/3", 303, "/end")] {
        assert_eq!(srv.request().target, from);
        srv.respond(status, &[("Location", to)], b"moved");
        sim.run();
        assert!(sim.result(id).is_none());
    }
    let last = srv.request();
    assert_eq!(
        (last.method.as_str(), last.target.as_str()),
        ("GET", "/end")
    );
    srv.respond(200, &[], b"end");
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert_eq!(
        easy.collected().unwrap().body,
        b"end",
        "redirect bodies not delivered"
    );
    let info = easy.info();
    assert_eq!(info.redirect_count, 3);
    assert_eq!(info.effective_url, "http://127.0.0.1/end");
    assert_eq!(info.num_connects, 1);
    assert_eq!(sim.net.connects(), 1, "every hop on the first connection");
    assert_eq!(sim.multi.connection_counts(), (1, 1));
}

#[test]
fn hop_to_another_port_connects_there_and_pools_the_first() {
    let mut sim = Sim::new();
    sim.listen(80);
    sim.listen(8080);
    let id = sim.add(follow("http://127.0.0.1:80/a"));
    sim.run();
    let mut a = sim.accept();
    a.request();
    a.respond(302, &[("Location", "http://127.0.0.1:8080/b")], b"");
    sim.run();
    assert_eq!(
        sim.multi.connection_counts(),
        (2, 1),
        "the first idle, the second busy"
    );
    let mut b = sim.accept();
    assert_eq!(b.request().header("host"), Some("127.0.0.1:8080"));
    b.respond(200, &[], b"at b");
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert_eq!(easy.info().num_connects, 2);
    assert_eq!(sim.multi.connection_counts(), (2, 2));
    assert!(!a.client_closed() && !b.client_closed());
}

#[test]
fn total_timeout_covers_the_whole_chain() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut e = follow("http://127.0.0.1:80/1");
    e.timeout(Some(Duration::from_secs(5)));
    let id = sim.add(e);
    sim.run();
    let mut srv = sim.accept();
    srv.request();
    sim.advance(Duration::from_secs(3));
    srv.respond(302, &[("Location", "/2")], b"");
    sim.run();
    assert_eq!(srv.request().target, "/2");
    // The second hop does not get 5 s of its own.
    sim.advance(Duration::from_secs(2));
    let (r, easy) = sim.finish(id);
    assert_eq!(r.unwrap_err().kind(), ErrorKind::OperationTimedout);
    assert_eq!(easy.info().redirect_count, 1);
    assert_eq!(sim.elapsed(), Duration::from_secs(5));
}
