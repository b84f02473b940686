//! Pausing the write callback, without waits: while a transfer is paused its socket is not
//! watched, what the server sends stays in the network, time passes without a timeout from
//! the low-speed limit, and the held data comes again, whole, after the unpause; a pause on the
//! only write holds back the completion; a pause from outside before the answer arrives.
//!
//! `tests/callbacks.rs` keeps real-socket runs of large paused bodies (with decoding) and of
//! pauses from other transfers' callbacks.

use std::time::Duration;

use crate::ctx::Direction;
use crate::sim::Sim;
use crate::{Ctx, Easy, Flow, Handler};

/// Pauses on its first write, then takes everything; counts the calls.
#[derive(Default)]
struct PauseFirst {
    calls: Vec<Vec<u8>>,
    body: Vec<u8>,
}

impl Handler for PauseFirst {
    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        self.calls.push(data.to_vec());
        if self.calls.len() == 1 {
            return Flow::Pause;
        }
        self.body.extend_from_slice(data);
        Flow::Continue
    }
}

fn handler(easy: &Easy) -> &PauseFirst {
    easy.handler::<PauseFirst>().unwrap()
}

#[test]
fn paused_transfer_reads_nothing_and_gets_its_data_again() {
    let mut sim = Sim::new();
    sim.listen(80);
    let mut e = Easy::with_handler("http://127.0.0.1:80/", PauseFirst::default()).unwrap();
    e.low_speed(1, Duration::from_secs(1));
    let id = sim.add(e);
    sim.run();
    let mut srv = sim.accept();
    srv.request();
    srv.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello");
    sim.run();
    assert!(
        sim.watched_sockets().is_empty(),
        "a paused socket is not watched"
    );
    srv.write(b"world");
    sim.advance(Duration::from_secs(60));
    assert!(
        sim.result(id).is_none(),
        "no low-speed timeout while paused"
    );
    assert_eq!(srv.unread_by_client(), 5, "nothing read while paused");
    assert!(sim.multi.unpause(id, Direction::Recv));
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    let h = handler(&easy);
    assert_eq!(h.calls[0], b"hello");
    assert_eq!(h.calls[1], b"hello", "the held data again, whole");
    assert_eq!(h.body, b"helloworld");
    assert_eq!(sim.multi.connection_counts(), (1, 1));
}

#[test]
fn pause_on_the_only_write_defers_completion() {
    let mut sim = Sim::new();
    sim.listen(80);
    let id = sim.add(Easy::with_handler("http://127.0.0.1:80/", PauseFirst::default()).unwrap());
    sim.run();
    let mut srv = sim.accept();
    srv.request();
    srv.respond(200, &[], b"tiny");
    sim.run();
    sim.advance(Duration::from_secs(10));
    assert!(
        sim.result(id).is_none(),
        "completed while its only data was held"
    );
    assert_eq!(sim.multi.connection_counts(), (1, 0), "still in use");
    sim.multi.unpause(id, Direction::Recv);
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert_eq!(handler(&easy).body, b"tiny");
    // Pooled after the held data was delivered: the next transfer reuses it.
    let id = sim.add(Easy::new("http://127.0.0.1:80/").unwrap());
    sim.run();
    srv.request();
    srv.respond(200, &[], b"again");
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert!(easy.info().reused);
}

#[test]
fn pause_from_outside_before_the_answer() {
    let mut sim = Sim::new();
    sim.listen(80);
    let id = sim.add(Easy::new("http://127.0.0.1:80/").unwrap());
    sim.run();
    let mut srv = sim.accept();
    srv.request();
    assert!(sim.multi.pause(id, Direction::Recv));
    sim.run();
    assert!(sim.watched_sockets().is_empty());
    srv.respond(200, &[], b"held back");
    let sent = srv.unread_by_client();
    sim.advance(Duration::from_secs(5));
    assert!(sim.result(id).is_none());
    assert_eq!(
        srv.unread_by_client(),
        sent,
        "the whole answer waits in the network"
    );
    assert!(sim.multi.unpause(id, Direction::Recv));
    sim.run();
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert_eq!(easy.collected().unwrap().body, b"held back");
}
