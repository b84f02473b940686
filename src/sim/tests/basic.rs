//! The harness itself, and the plainest runs: a GET over a fresh connection, the next GET
//! over the same connection from the pool, and what the multi watches on the way.

use std::time::Duration;

use crate::multi::SocketWhat;
use crate::sim::Sim;
use crate::Easy;

#[test]
fn get_then_reuse_the_pooled_connection() {
    let mut sim = Sim::new();
    sim.listen(80);
    let id = sim.add(Easy::new("http://127.0.0.1:80/first").unwrap());
    sim.run();
    let mut srv = sim.accept();
    let req = srv.request();
    assert_eq!(
        (req.method.as_str(), req.target.as_str()),
        ("GET", "/first")
    );
    assert_eq!(
        req.header("host"),
        Some("127.0.0.1"),
        "default port left out"
    );
    assert!(sim.result(id).is_none(), "finished before the answer");
    srv.respond(200, &[], b"one");
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert_eq!(easy.collected().unwrap().body, b"one");
    assert_eq!(easy.info().num_connects, 1);
    assert!(!easy.info().reused);
    assert_eq!(sim.multi.connection_counts(), (1, 1));
    // Idle in the pool, the socket is watched for reading: a close would be seen.
    let [(fd, what)] = sim.watched_sockets()[..] else {
        panic!("one socket watched: {:?}", sim.watched_sockets());
    };
    assert_eq!(what, SocketWhat::In);

    let id = sim.add(Easy::new("http://127.0.0.1:80/second").unwrap());
    sim.run();
    assert_eq!(srv.request().target, "/second");
    srv.respond(200, &[], b"two");
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert_eq!(easy.collected().unwrap().body, b"two");
    assert!(easy.info().reused);
    assert_eq!(easy.info().num_connects, 0);
    assert_eq!(sim.net.connects(), 1);
    assert_eq!(sim.watched(fd), Some(SocketWhat::In));
    assert_eq!(sim.elapsed(), Duration::ZERO, "no time passed");
}

/// Records the fake time of every progress call.
struct Ticks(crate::clock::FakeClock, Vec<Duration>);

impl crate::Handler for Ticks {
    fn progress(&mut self, _ctx: &mut crate::Ctx<'_>, _p: &crate::Progress) -> bool {
        self.1.push(self.0.elapsed());
        true
    }
}

#[test]
fn progress_ticks_once_a_second_of_fake_time() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut e =
        Easy::with_handler("http://127.0.0.1:80/", Ticks(sim.clock.clone(), vec![])).unwrap();
    e.progress(true);
    let id = sim.add(e);
    sim.run();
    let _srv = sim.accept();
    assert_eq!(
        sim.timer(),
        Some(Duration::from_secs(1)),
        "the next progress call"
    );
    assert_eq!(sim.advance_to_timer(), Some(Duration::from_secs(1)));
    sim.advance(Duration::from_millis(2500));
    assert!(
        sim.result(id).is_none(),
        "a silent server is no error without a timeout"
    );
    let e = sim.multi.remove(id).unwrap();
    let ticks = &e.handler::<Ticks>().unwrap().1;
    let timed: Vec<_> = ticks.iter().filter(|t| !t.is_zero()).collect();
    let secs = |s| Duration::from_secs(s);
    assert_eq!(
        timed,
        [&secs(1), &secs(2), &secs(3)],
        "all calls: {ticks:?}"
    );
}
