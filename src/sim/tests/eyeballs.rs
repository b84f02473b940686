//! Happy eyeballs (RFC 8305, `CURLOPT_HAPPY_EYEBALLS_TIMEOUT_MS`) on fake time: the first
//! address stalls (a black-holed SYN), the second starts exactly the delay later and wins,
//! the stalled attempt is closed and no longer watched; a refused first address starts the
//! second at once; the delay is the option's.

use std::time::Duration;

use crate::sim::{Listen, Sim};
use crate::Easy;

const MS: Duration = Duration::from_millis(1);

/// A name resolving to `[::1]` (black-holed) and then `127.0.0.1` (accepting), port 80.
fn stalled_v6_then_v4(sim: &mut Sim, delay: Option<Duration>) -> crate::TransferId {
    sim.net
        .listen("[::1]:80".parse().unwrap(), Listen::Blackhole);
    sim.listen(80);
    let mut e = Easy::new("http://dual.test/").unwrap();
    e.resolve(&["dual.test:80:[::1],127.0.0.1"])
        .unwrap()
        .connect_timeout(Duration::from_secs(60))
        .verbose(true);
    if let Some(d) = delay {
        e.happy_eyeballs_timeout(d);
    }
    sim.add(e)
}

#[test]
fn the_second_family_starts_after_the_delay_and_wins_over_a_stalled_first() {
    let mut sim = Sim::new();
    let id = stalled_v6_then_v4(&mut sim, None);
    sim.run();
    assert_eq!(sim.net.connects(), 1, "the first family alone");
    let [(stalled_fd, _)] = sim.watched_sockets()[..] else {
        panic!("one attempt watched: {:?}", sim.watched_sockets());
    };
    assert_eq!(sim.timer(), Some(crate::HAPPY_EYEBALLS_TIMEOUT));
    sim.advance(crate::HAPPY_EYEBALLS_TIMEOUT - MS);
    assert_eq!(sim.net.connects(), 1, "started early");
    sim.advance(MS);
    assert_eq!(
        sim.net.connects(),
        2,
        "the second family started at the delay"
    );
    let mut srv = sim.accept();
    assert_eq!(srv.request().target, "/");
    assert_eq!(sim.watched(stalled_fd), None, "the loser is closed");
    srv.respond(200, &[], b"v4 won");
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert_eq!(easy.collected().unwrap().body, b"v4 won");
    assert_eq!(
        easy.info().remote_addr,
        Some("127.0.0.1:80".parse().unwrap())
    );
    assert_eq!(easy.info().num_connects, 1);
    assert_eq!(sim.multi.connection_counts(), (1, 1), "one connection kept");
    assert_eq!(sim.watched_sockets().len(), 1);
}

#[test]
fn the_delay_is_the_options() {
    let mut sim = Sim::new();
    let id = stalled_v6_then_v4(&mut sim, Some(Duration::from_millis(750)));
    sim.run();
    assert_eq!(sim.timer(), Some(Duration::from_millis(750)));
    sim.advance(Duration::from_millis(749));
    assert_eq!(sim.net.connects(), 1);
    sim.advance(MS);
    assert_eq!(sim.net.connects(), 2);
    let mut srv = sim.accept();
    srv.request();
    srv.respond(200, &[], b"ok");
    sim.run();
    sim.finish(id).0.unwrap();
}

#[test]
fn a_refused_first_address_starts_the_next_at_once() {
    let mut sim = Sim::new();
    // Nobody listens on [::1]:80: refused.
    sim.listen(80);
    let mut e = Easy::new("http://dual.test/").unwrap();
    e.resolve(&["dual.test:80:[::1],127.0.0.1"]).unwrap();
    let id = sim.add(e);
    sim.run();
    assert_eq!(sim.net.connects(), 2, "no delay after a failure");
    assert_eq!(sim.elapsed(), Duration::ZERO);
    let mut srv = sim.accept();
    srv.request();
    srv.respond(200, &[], b"ok");
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert_eq!(
        easy.info().remote_addr,
        Some("127.0.0.1:80".parse().unwrap())
    );
}

#[test]
fn addresses_alternate_families_the_first_answers_first() {
    let mut sim = Sim::new();
    for a in ["[::1]:80", "[::2]:80", "127.0.0.2:80"] {
        sim.net.listen(a.parse().unwrap(), Listen::Blackhole);
    }
    sim.listen(80);
    let mut e = Easy::new("http://many.test/").unwrap();
    // In the answer's order 127.0.0.1 would come third; alternating, it comes second.
    e.resolve(&["many.test:80:[::1],[::2],127.0.0.1,127.0.0.2"])
        .unwrap();
    let id = sim.add(e);
    sim.run();
    assert_eq!(sim.net.connects(), 1);
    sim.advance(crate::HAPPY_EYEBALLS_TIMEOUT);
    assert_eq!(sim.net.connects(), 2);
    let mut srv = sim.accept();
    srv.request();
    srv.respond(200, &[], b"ok");
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert_eq!(
        easy.info().remote_addr,
        Some("127.0.0.1:80".parse().unwrap())
    );
    assert_eq!(sim.net.connects(), 2, "nothing started after the winner");
    assert_eq!(sim.watched_sockets().len(), 1, "the loser closed");
}
