//! Keepalive pings (`Easy::ws_keepalive`) on real sockets: in the connect-only model a ping
//! after an interval without a sign of life from the peer, and the close with the keepalive
//! code plus `OperationTimedout` when no answer comes, whether or not the application reads;
//! in the callback model a live peer answering pings.
//!
//! The callback model's timing (the ping at the interval, the close at the timeout, the rest
//! while paused) is tested on fake time in `src/sim/tests/ws.rs`.

mod support;

use std::time::{Duration, Instant};

use curlew::ws::{WsError, PONG};
use curlew::{Ctx, Easy, ErrorKind, Flow, Handler, Multi, TransferId};
use support::ping_counter::PingCounter;
use support::ws_peer::WsPeer;
use support::TIMEOUT;

/// Pings the peer must count before a test is satisfied.
const PINGS: usize = 3;

/// A connect-only transfer with keepalive `(interval, timeout)`, upgraded.
fn connect_only(m: &mut Multi, url: &str, interval: Duration, timeout: Duration) -> TransferId {
    let mut e = Easy::new(url).unwrap();
    e.connect_only(true)
        .ws_keepalive(Some((interval, timeout)))
        .ws_keepalive_close_code(4000)
        .unwrap();
    let id = m.add(e);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        m.poll(Some(Duration::from_millis(50))).unwrap();
        if let Some(msg) = m.info_read() {
            assert_eq!(msg.id, id);
            msg.result.expect("upgrade");
            return id;
        }
        assert!(Instant::now() < deadline, "no upgrade");
    }
}

#[test]
fn connect_only_pings_while_the_application_is_away() {
    // The application never touches the transfer; the loop waits only as long as the multi
    // asks (its timers must include the keepalive), and the unread pongs arriving are the
    // peer's signs of life.
    let peer = PingCounter::start(true);
    let mut m = Multi::new();
    let id = connect_only(
        &mut m,
        &peer.url("/"),
        Duration::from_millis(50),
        Duration::from_secs(5),
    );
    let deadline = Instant::now() + TIMEOUT;
    while peer.pings() < PINGS {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "{} pings counted", peer.pings());
        m.poll(Some(left)).unwrap();
    }
    // Still open: the pongs wait unread.
    let mut ws = m.ws(id).unwrap();
    let (frame, data) = ws.recv().expect("a pong");
    assert_eq!(frame.flags, PONG);
    assert_eq!(data, b"curlew-keepalive");
    assert!(peer.close().is_none());
}

#[test]
fn connect_only_pings_while_the_application_reads() {
    let peer = PingCounter::start(true);
    let mut m = Multi::new();
    let id = connect_only(
        &mut m,
        &peer.url("/"),
        Duration::from_millis(50),
        Duration::from_secs(5),
    );
    let deadline = Instant::now() + TIMEOUT;
    let mut pongs = 0;
    while peer.pings() < PINGS || pongs < PINGS {
        assert!(
            Instant::now() < deadline,
            "{} pings, {pongs} pongs",
            peer.pings()
        );
        m.poll(Some(Duration::from_millis(100))).unwrap();
        loop {
            match m.ws(id).unwrap().recv() {
                Ok((frame, _)) => {
                    assert_eq!(frame.flags, PONG);
                    pongs += 1;
                }
                Err(WsError::WouldBlock) => break,
                Err(e) => panic!("recv: {e}"),
            }
        }
    }
    assert!(peer.close().is_none());
}

#[test]
fn connect_only_without_pong_closes_with_the_keepalive_code_and_times_out() {
    let peer = PingCounter::start(false);
    let mut m = Multi::new();
    let id = connect_only(
        &mut m,
        &peer.url("/"),
        Duration::from_millis(50),
        Duration::from_millis(200),
    );
    let deadline = Instant::now() + TIMEOUT;
    // The application does not touch the transfer until the server has seen the close.
    while peer.close().is_none() {
        assert!(
            Instant::now() < deadline,
            "no close; {} pings",
            peer.pings()
        );
        m.poll(Some(Duration::from_millis(50))).unwrap();
    }
    assert_eq!(peer.close(), Some(Some(4000)));
    assert_eq!(peer.pings(), 1);
    let mut ws = m.ws(id).unwrap();
    match ws.recv() {
        Err(WsError::Failed(e)) => assert_eq!(e.kind(), ErrorKind::OperationTimedout, "{e}"),
        r => panic!("recv after the keepalive timeout: {:?}", r.map(|(f, _)| f)),
    }
    match ws.send_text("too late") {
        Err(WsError::Failed(e)) => assert_eq!(e.kind(), ErrorKind::OperationTimedout),
        r => panic!("send after the keepalive timeout: {r:?}"),
    }
    assert!(m.remove(id).is_some());
    assert_eq!(m.connection_counts(), (0, 0));
}

#[test]
fn keepalive_pings_and_survives_a_live_peer() {
    // tungstenite answers pings: the transfer must stay up past several intervals.
    let peer = WsPeer::start(|mut ws| {
        let mut pings = 0;
        while let Ok(m) = ws.read() {
            if m.is_ping() {
                pings += 1;
                if pings == 3 {
                    let _ = ws.send(tungstenite::Message::text("three pings"));
                }
            }
        }
    });
    #[derive(Default)]
    struct Wait(bool);
    impl Handler for Wait {
        fn write(&mut self, ctx: &mut Ctx<'_>, _d: &[u8]) -> Flow {
            if ctx.ws_meta().unwrap().is_text() {
                self.0 = true;
                ctx.ws().unwrap().close(1000, "").unwrap();
            }
            Flow::Continue
        }
    }
    let mut e = Easy::with_handler(&peer.url("/"), Wait::default()).unwrap();
    e.ws_keepalive(Some((Duration::from_millis(50), Duration::from_secs(5))));
    e.perform().unwrap();
    assert!(e.handler::<Wait>().unwrap().0);
}
