//! Speed limits on the fake clock: the loop's rate timers hold a transfer back to its limit
//! on average, to the tenth of a second, while a neighbour runs at full speed.

use std::time::Duration;

use crate::sim::Sim;
use crate::Easy;

#[test]
fn a_receive_limit_spreads_a_body_over_time_and_leaves_the_neighbour_alone() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut slow = Easy::new("http://127.0.0.1:80/slow").unwrap();
    slow.max_recv_speed(10_000);
    let slow = sim.add(slow);
    let fast = sim.add(Easy::new("http://127.0.0.1:80/fast").unwrap());
    sim.run();
    let mut a = sim.accept();
    let mut b = sim.accept();
    let body = vec![b'x'; 100_000];
    for srv in [&mut a, &mut b] {
        let req = srv.request();
        srv.respond(200, &[], &body);
        assert!(req.target == "/slow" || req.target == "/fast");
    }
    sim.run();
    let (r, easy) = sim.finish(fast);
    r.unwrap();
    assert_eq!(
        easy.collected().unwrap().body.len(),
        body.len(),
        "the neighbour at once"
    );
    // 100,000 bytes at 10,000 B/s, in reads of a quarter second's worth (2,500 bytes): the
    // last read is allowed after 9.75 s, never before.
    sim.advance(Duration::from_secs(8));
    assert!(sim.result(slow).is_none(), "not after 8 s");
    sim.advance(Duration::from_secs(3));
    let (r, easy) = sim.finish(slow);
    r.unwrap();
    assert_eq!(easy.collected().unwrap().body.len(), body.len());
    assert!(sim.elapsed() >= Duration::from_secs(11));
}

#[test]
fn a_send_limit_writes_the_body_a_quarter_second_at_a_time() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut e = Easy::new("http://127.0.0.1:80/up").unwrap();
    e.body(vec![b'u'; 40_000]).max_send_speed(10_000);
    let id = sim.add(e);
    sim.run();
    let mut srv = sim.accept();
    let head_and_first = srv.unread().len();
    // The head and the first quarter second's worth (2,500 bytes) go at once.
    assert!(
        head_and_first < 2_500 + 300,
        "{head_and_first} bytes at once"
    );
    sim.advance(Duration::from_secs(2));
    let sent = srv.unread().len();
    assert!(
        (20_000..=23_000 + 300).contains(&sent),
        "{sent} bytes after 2 s at 10,000 B/s"
    );
    sim.advance(Duration::from_secs(2));
    let req = srv.request();
    assert_eq!(req.body.len(), 40_000, "all of it by 4 s");
    srv.respond(200, &[], b"ok");
    sim.run();
    sim.finish(id).0.unwrap();
}
