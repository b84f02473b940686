//! What callbacks may do: send on themselves and others, receive on a connect-only transfer,
//! remove themselves, add transfers, panic without breaking the multi. Plus a mixed load of
//! WebSocket and HTTP transfers on one Multi.

mod support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use curlew::ws::{WsError, TEXT};
use curlew::{Ctx, Easy, ErrorKind, Flow, Handler, Multi, TransferId};
use support::http_server::{keep_alive_responder, Server};
use support::ws_peer::WsPeer;

fn drain(m: &mut Multi) -> Vec<(TransferId, curlew::Result<()>)> {
    let mut v = Vec::new();
    while let Some(msg) = m.info_read() {
        v.push((msg.id, msg.result));
    }
    v
}

fn run_until(m: &mut Multi, what: &str, mut f: impl FnMut(&mut Multi) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f(m) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {m:?}"
        );
        m.poll(Some(Duration::from_millis(50))).unwrap();
    }
}

/// Echoes every message back from inside the write callback, `n` times, then closes.
struct EchoBack {
    left: usize,
    seen: usize,
}

impl Handler for EchoBack {
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        ctx.ws().unwrap().send(b"round", TEXT).unwrap();
        Flow::Continue
    }
    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let meta = ctx.ws_meta().unwrap();
        if meta.is_close() {
            return Flow::Continue;
        }
        self.seen += 1;
        assert_eq!(data, b"round");
        if self.left == 0 {
            ctx.ws().unwrap().close(1000, "").unwrap();
        } else {
            self.left -= 1;
            assert_eq!(ctx.ws().unwrap().send(data, TEXT).unwrap(), 5);
        }
        Flow::Continue
    }
}

#[test]
fn echo_from_inside_the_callback() {
    let peer = WsPeer::echo();
    let mut m = Multi::new();
    let id = m.add(Easy::with_handler(&peer.url("/"), EchoBack { left: 50, seen: 0 }).unwrap());
    run_until(&mut m, "echo rounds", |m| m.running() == 0);
    let done = drain(&mut m);
    assert_eq!(done.len(), 1);
    done[0].1.as_ref().unwrap();
    assert_eq!(
        m.remove(id).unwrap().handler::<EchoBack>().unwrap().seen,
        51
    );
}

#[test]
fn recv_on_a_connect_only_transfer_from_a_callback() {
    let peer = WsPeer::echo();
    let mut m = Multi::new();
    let mut co = Easy::new(&peer.url("/co")).unwrap();
    co.connect_only(true);
    let co_id = m.add(co);
    run_until(&mut m, "connect-only upgrade", |m| {
        drain(m).iter().any(|(id, r)| *id == co_id && r.is_ok())
    });
    m.ws(co_id).unwrap().send_text("for the callback").unwrap();

    /// Polls the connect-only transfer from its own callbacks (every echo it gets).
    struct Reader {
        other: TransferId,
        got: Option<Vec<u8>>,
    }
    impl Handler for Reader {
        fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
            ctx.ws().unwrap().send_text("tick").unwrap();
            Flow::Continue
        }
        fn write(&mut self, ctx: &mut Ctx<'_>, _data: &[u8]) -> Flow {
            if ctx.ws_meta().unwrap().is_close() {
                return Flow::Continue;
            }
            let other = self.other;
            match ctx.ws_of(other).unwrap().recv() {
                Ok((_, data)) => {
                    self.got = Some(data.to_vec());
                    ctx.ws().unwrap().close(1000, "").unwrap();
                }
                Err(WsError::WouldBlock) => {
                    ctx.ws().unwrap().send_text("tick").unwrap();
                }
                Err(e) => panic!("{e}"),
            }
            Flow::Continue
        }
    }
    let rid = m.add(
        Easy::with_handler(
            &peer.url("/reader"),
            Reader {
                other: co_id,
                got: None,
            },
        )
        .unwrap(),
    );
    run_until(&mut m, "reader done", |m| {
        drain(m).iter().any(|(id, r)| *id == rid && r.is_ok())
    });
    let e = m.remove(rid).unwrap();
    assert_eq!(
        e.handler::<Reader>().unwrap().got.as_deref(),
        Some(&b"for the callback"[..])
    );
}

#[test]
fn remove_self_and_add_new_from_a_callback() {
    let peer = WsPeer::echo();
    struct Hop {
        url: String,
        hops: usize,
    }
    impl Handler for Hop {
        fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
            ctx.ws().unwrap().send_text("hop").unwrap();
            Flow::Continue
        }
        fn write(&mut self, ctx: &mut Ctx<'_>, _data: &[u8]) -> Flow {
            if self.hops > 0 {
                let next = Hop {
                    url: self.url.clone(),
                    hops: self.hops - 1,
                };
                ctx.add(Easy::with_handler(&self.url, next).unwrap());
            }
            let me = ctx.id();
            ctx.remove(me);
            Flow::Continue
        }
    }
    let mut m = Multi::new();
    m.add(
        Easy::with_handler(
            &peer.url("/"),
            Hop {
                url: peer.url("/"),
                hops: 5,
            },
        )
        .unwrap(),
    );
    run_until(&mut m, "all hops", |m| m.running() == 0);
    // Removed transfers report nothing; all six connections were made.
    assert!(drain(&mut m).is_empty());
    support::wait_until("peer saw six connections", support::TIMEOUT, || {
        peer.accepted() == 6
    });
}

#[test]
fn a_panicking_callback_leaves_the_multi_consistent() {
    let peer = WsPeer::echo();
    let srv = Server::start(keep_alive_responder(b"fine".to_vec()));
    struct Boom;
    impl Handler for Boom {
        fn ws_open(&mut self, _ctx: &mut Ctx<'_>) -> Flow {
            panic!("callback bug");
        }
    }
    let mut m = Multi::new();
    let bad = m.add(Easy::with_handler(&peer.url("/"), Boom).unwrap());
    let good = m.add(Easy::new(&srv.url("/")).unwrap());
    let mut panics = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while m.running() > 0 {
        assert!(Instant::now() < deadline);
        if catch_unwind(AssertUnwindSafe(|| m.poll(Some(Duration::from_millis(50))))).is_err() {
            panics += 1;
        }
    }
    assert_eq!(panics, 1);
    let results = drain(&mut m);
    let bad_r = results.iter().find(|(id, _)| *id == bad).unwrap();
    assert_eq!(
        bad_r.1.as_ref().unwrap_err().kind(),
        ErrorKind::AbortedByCallback
    );
    let good_r = results.iter().find(|(id, _)| *id == good).unwrap();
    good_r.1.as_ref().unwrap();
    assert!(m.remove(bad).is_some());
    assert_eq!(m.remove(good).unwrap().collected().unwrap().body, b"fine");
}

#[test]
fn mixed_load_200_ws_and_200_http() {
    let peer = WsPeer::echo();
    let srv = Server::start(keep_alive_responder(vec![b'h'; 3000]));
    let mut m = Multi::new();
    m.set_max_host_connections(300);
    let mut ws_ids = Vec::new();
    let mut http_ids = Vec::new();
    for i in 0..200 {
        ws_ids.push(
            m.add(Easy::with_handler(&peer.url("/"), EchoBack { left: 3, seen: 0 }).unwrap()),
        );
        let mut e = Easy::new(&srv.url(&format!("/{i}"))).unwrap();
        e.timeout(Some(Duration::from_secs(30)));
        http_ids.push(m.add(e));
    }
    run_until(&mut m, "mixed load", |m| m.running() == 0);
    let results = drain(&mut m);
    assert_eq!(results.len(), 400);
    for (id, r) in &results {
        assert!(r.is_ok(), "{id:?}: {r:?}");
    }
    for id in ws_ids {
        assert_eq!(m.remove(id).unwrap().handler::<EchoBack>().unwrap().seen, 4);
    }
    for id in http_ids {
        assert_eq!(m.remove(id).unwrap().collected().unwrap().body.len(), 3000);
    }
}
