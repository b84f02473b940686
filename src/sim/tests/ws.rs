//! WebSocket keepalive on fake time (callback model): the ping goes out exactly one interval
//! after the last sign of life, a pong or any bytes put the next one off, no pong within the
//! timeout closes with the keepalive code and fails the transfer at that instant, and a paused
//! transfer is never pinged nor timed out however long it rests.
//!
//! `tests/ws_keepalive.rs` keeps the real-socket runs (connect-only model, a live tungstenite
//! peer answering pings).

use std::time::Duration;

use crate::error::ErrorKind;
use crate::sim::ws::{CLOSE, PING, PONG, TEXT};
use crate::sim::{Peer, Sim};
use crate::{Ctx, Direction, Easy, Flow, Handler, TransferId};

const INTERVAL: Duration = Duration::from_secs(10);
const TIMEOUT: Duration = Duration::from_secs(5);
const MS: Duration = Duration::from_millis(1);

/// A callback-model WebSocket with keepalive `(INTERVAL, TIMEOUT)`, upgraded at time 0.
fn open(sim: &mut Sim, easy: Option<Easy>) -> (TransferId, Peer) {
    sim.listen(80);
    let mut e = easy.unwrap_or_else(|| Easy::new("ws://127.0.0.1:80/").unwrap());
    e.ws_keepalive(Some((INTERVAL, TIMEOUT)));
    let id = sim.add(e);
    sim.run();
    let mut srv = sim.accept();
    srv.ws_upgrade();
    sim.run();
    assert!(sim.result(id).is_none(), "upgraded and open");
    (id, srv)
}

#[test]
fn ping_after_each_quiet_interval_and_a_pong_keeps_it_open() {
    let mut sim = Sim::new();
    let (id, mut srv) = open(&mut sim, None);
    sim.advance(INTERVAL - MS);
    assert_eq!(srv.ws_read(), None, "no ping before the interval");
    sim.advance(MS);
    let (op, data) = srv.ws_read().expect("a ping at the interval");
    assert_eq!((op, &data[..]), (PING, &b"curlew-keepalive"[..]));
    sim.advance(Duration::from_secs(2));
    srv.ws_send(PONG, &data);
    sim.run();
    // The pong is the last sign of life: the next ping comes one interval after it.
    sim.advance(INTERVAL - MS);
    assert_eq!(srv.ws_read(), None);
    sim.advance(MS);
    assert_eq!(srv.ws_read().map(|f| f.0), Some(PING));
    assert_eq!(sim.elapsed(), Duration::from_secs(22));
    srv.ws_send(PONG, &data);
    srv.ws_send(CLOSE, &1000u16.to_be_bytes());
    sim.run();
    assert_eq!(srv.ws_read().map(|f| f.0), Some(CLOSE), "the close echoed");
    srv.close();
    sim.run();
    sim.finish(id).0.expect("a clean close");
}

#[test]
fn no_pong_closes_with_the_keepalive_code_at_the_timeout() {
    let mut sim = Sim::new();
    let (id, mut srv) = open(&mut sim, None);
    sim.advance(INTERVAL);
    assert_eq!(srv.ws_read().map(|f| f.0), Some(PING));
    sim.advance(TIMEOUT - MS);
    assert!(sim.result(id).is_none(), "gave up early");
    assert_eq!(srv.ws_read(), None);
    sim.advance(MS);
    let (op, data) = srv.ws_read().expect("our close");
    assert_eq!((op, &data[..2]), (CLOSE, &1011u16.to_be_bytes()[..]));
    let (r, _) = sim.finish(id);
    let e = r.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OperationTimedout, "{e}");
    assert_eq!(sim.elapsed(), INTERVAL + TIMEOUT);
}

/// Pauses on the first message.
#[derive(Default)]
struct PauseFirst(usize);

impl Handler for PauseFirst {
    fn write(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) -> Flow {
        self.0 += 1;
        if self.0 == 1 {
            Flow::Pause
        } else {
            Flow::Continue
        }
    }
}

#[test]
fn a_paused_transfer_is_neither_pinged_nor_timed_out() {
    let mut sim = Sim::new();
    let e = Easy::with_handler("ws://127.0.0.1:80/", PauseFirst::default()).unwrap();
    let (id, mut srv) = open(&mut sim, Some(e));
    srv.ws_send(TEXT, b"pause me");
    sim.run();
    assert_eq!(sim.timer(), None, "keepalive rests while paused");
    sim.advance(Duration::from_secs(600));
    assert!(sim.result(id).is_none());
    assert_eq!(srv.ws_read(), None, "no ping while paused");
    assert!(sim.multi.unpause(id, Direction::Recv));
    sim.run();
    assert_eq!(srv.ws_read(), None, "no ping at the unpause");
    // The interval starts again at the unpause.
    assert_eq!(sim.timer(), Some(INTERVAL));
    sim.advance(INTERVAL);
    assert_eq!(srv.ws_read().map(|f| f.0), Some(PING));
    let e = sim.multi.remove(id).unwrap();
    assert_eq!(
        e.handler::<PauseFirst>().unwrap().0,
        2,
        "the held message came again"
    );
}
