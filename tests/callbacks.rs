//! The callback surface: pause/unpause (write and read), abort, progress,
//! debug, done, and multi changes made from inside callbacks.
//!
//! What a pause does to the driver (the socket unwatched, data left in the
//! network, no low-speed timeout, completion held back) is tested step by step
//! in `src/sim/tests/pause.rs`.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use curlew::{
    Ctx, DebugKind, Direction, Easy, Error, ErrorKind, Flow, Handler, Multi, Progress, ReadResult,
    TransferId,
};
use support::client::*;
use support::http_server::*;

/// Polls `m` until `cond` holds (bounded).
#[track_caller]
fn poll_until(m: &mut Multi, what: &str, mut cond: impl FnMut(&mut Multi) -> bool) {
    let deadline = Instant::now() + RUN_BOUND;
    while !cond(m) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        m.poll(Some(Duration::from_millis(20))).unwrap();
    }
}

/// Pauses on every `every`-th fresh write call. The paused data is not kept:
/// it must come again, whole, in the first call after unpausing.
struct Pauser {
    every: usize,
    calls: usize,
    redelivery: Option<Vec<u8>>,
    body: Vec<u8>,
    paused: Arc<AtomicUsize>,
}

impl Handler for Pauser {
    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        if let Some(want) = self.redelivery.take() {
            assert_eq!(want, data, "paused data not delivered again as it was");
        } else {
            self.calls += 1;
            if self.calls % self.every == 0 {
                self.paused.fetch_add(1, Ordering::SeqCst);
                self.redelivery = Some(data.to_vec());
                return Flow::Pause;
            }
        }
        self.body.extend_from_slice(data);
        Flow::Continue
    }
}

fn pause_unpause_from_outside(body_len: usize, every: usize, decode: bool) {
    let want = pattern(body_len);
    let wire = if decode {
        support::gzip(&want)
    } else {
        want.clone()
    };
    let srv = Server::start(move |c: &mut Conn| {
        while c.read_request().is_some() {
            let hs: &[(&str, &str)] = if decode {
                &[("Content-Encoding", "gzip")]
            } else {
                &[]
            };
            let pieces: Vec<&[u8]> = wire.chunks(10_000).collect();
            c.respond_chunked(200, hs, &pieces);
        }
    });
    let paused = Arc::new(AtomicUsize::new(0));
    let h = Pauser {
        every,
        calls: 0,
        redelivery: None,
        body: Vec::new(),
        paused: paused.clone(),
    };
    let mut m = Multi::new();
    let mut e = Easy::with_handler(&srv.url("/"), h).unwrap();
    e.accept_encoding(decode);
    let id = m.add(e);
    let mut unpauses = 0;
    let deadline = Instant::now() + RUN_BOUND;
    while m.running() > 0 {
        assert!(Instant::now() < deadline, "stuck");
        m.poll(Some(Duration::from_millis(1))).unwrap();
        if paused.load(Ordering::SeqCst) > unpauses {
            // Paused: the transfer stays put however often we poll.
            for _ in 0..3 {
                m.poll(Some(Duration::from_millis(1))).unwrap();
            }
            assert_eq!(m.running(), 1, "finished while paused");
            unpauses += 1;
            assert!(m.unpause(id, Direction::Recv));
        }
    }
    let msg = m.info_read().unwrap();
    msg.result.unwrap();
    let e = m.remove(id).unwrap();
    let h = e.handler::<Pauser>().unwrap();
    assert!(unpauses >= 2, "paused only {unpauses} times");
    assert!(h.redelivery.is_none());
    assert_same_bytes(&h.body, &want);
}

#[test]
fn write_pause_and_unpause_from_outside() {
    pause_unpause_from_outside(1 << 20, 3, false);
}

#[test]
fn write_pause_on_every_call() {
    pause_unpause_from_outside(200_000, 1, false);
}

#[test]
fn write_pause_with_content_decoding() {
    pause_unpause_from_outside(1 << 20, 2, true);
}

/// Pauses on its first write and reports it; collects the rest.
struct PauseOnce {
    paused: Arc<AtomicBool>,
    body: Vec<u8>,
}

impl Handler for PauseOnce {
    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        if !self.paused.swap(true, Ordering::SeqCst) {
            return Flow::Pause;
        }
        self.body.extend_from_slice(data);
        Flow::Continue
    }
}

/// Unpauses `target` from its own write callback.
struct Unpauser {
    target: Arc<Mutex<Option<TransferId>>>,
    unpaused: bool,
}

impl Handler for Unpauser {
    fn write(&mut self, ctx: &mut Ctx<'_>, _data: &[u8]) -> Flow {
        if !self.unpaused {
            let id = self.target.lock().unwrap().expect("target id set");
            assert!(ctx.unpause(id, Direction::Recv));
            self.unpaused = true;
        }
        Flow::Continue
    }
}

#[test]
fn unpause_from_another_transfers_callback() {
    let want = pattern(300_000);
    let body = want.clone();
    let paused = Arc::new(AtomicBool::new(false));
    let a = Server::start(routes(move |_| Response::ok(body.clone())));
    let flag = paused.clone();
    // B answers only once A is paused, so B's callback runs after the pause.
    let b = Server::start(move |c: &mut Conn| {
        if c.read_request().is_some() {
            support::wait_until("A paused", support::TIMEOUT, || flag.load(Ordering::SeqCst));
            c.respond(200, &[], b"b");
        }
    });
    let target = Arc::new(Mutex::new(None));
    let mut m = Multi::new();
    let a_id = m.add(
        Easy::with_handler(
            &a.url("/"),
            PauseOnce {
                paused: paused.clone(),
                body: Vec::new(),
            },
        )
        .unwrap(),
    );
    *target.lock().unwrap() = Some(a_id);
    let b_id = m.add(
        Easy::with_handler(
            &b.url("/"),
            Unpauser {
                target,
                unpaused: false,
            },
        )
        .unwrap(),
    );
    let r = finish(&mut m);
    r[&b_id].unwrap();
    r[&a_id].unwrap();
    assert!(r[&b_id].easy.handler::<Unpauser>().unwrap().unpaused);
    assert_same_bytes(&r[&a_id].easy.handler::<PauseOnce>().unwrap().body, &want);
}

#[test]
fn self_unpause_via_ctx_from_a_later_callback() {
    // Pause from a write, unpause from the progress callback of the same
    // transfer (a callback that runs while receiving is paused).
    struct H {
        paused: bool,
        unpaused: bool,
        body: Vec<u8>,
    }
    impl Handler for H {
        fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
            if !self.paused {
                self.paused = true;
                return Flow::Pause;
            }
            self.body.extend_from_slice(data);
            Flow::Continue
        }
        fn progress(&mut self, ctx: &mut Ctx<'_>, _p: &Progress) -> bool {
            if self.paused && !self.unpaused {
                self.unpaused = true;
                let id = ctx.id();
                assert!(ctx.unpause(id, Direction::Recv));
            }
            true
        }
    }
    let want = pattern(100_000);
    let body = want.clone();
    let srv = Server::start(routes(move |_| Response::ok(body.clone())));
    let mut e = Easy::with_handler(
        &srv.url("/"),
        H {
            paused: false,
            unpaused: false,
            body: Vec::new(),
        },
    )
    .unwrap();
    e.progress(true);
    let f = run_one(e);
    f.unwrap();
    let h = f.easy.handler::<H>().unwrap();
    assert!(h.unpaused);
    assert_same_bytes(&h.body, &want);
}

#[test]
fn write_abort_is_write_error() {
    struct Abort;
    impl Handler for Abort {
        fn write(&mut self, _ctx: &mut Ctx<'_>, _data: &[u8]) -> Flow {
            Flow::Abort
        }
    }
    let srv = Server::start(keep_alive_responder(vec![b'a'; 100_000]));
    let f = run_one(Easy::with_handler(&srv.url("/"), Abort).unwrap());
    assert_eq!(f.kind(), Some(ErrorKind::WriteError));
}

#[test]
fn header_abort_is_aborted_by_callback() {
    struct Abort;
    impl Handler for Abort {
        fn header(&mut self, _ctx: &mut Ctx<'_>, _line: &[u8]) -> Flow {
            Flow::Abort
        }
    }
    let srv = Server::start(keep_alive_responder(b"x".to_vec()));
    let f = run_one(Easy::with_handler(&srv.url("/"), Abort).unwrap());
    assert_eq!(f.kind(), Some(ErrorKind::AbortedByCallback));
}

/// Sends the head and half the body, waits until `gate` is set, then sends
/// the rest (or gives up when the client goes away).
fn half_then_gate(total: usize, gate: Arc<AtomicBool>) -> Server {
    Server::start(move |c: &mut Conn| {
        if c.read_request().is_none() {
            return;
        }
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {total}\r\n\r\n");
        let _ = c.write_all(head.as_bytes());
        let _ = c.write_all(&vec![b'p'; total / 2]);
        // Wait for the gate, or for the client to go away.
        c.set_read_timeout(Some(Duration::from_millis(1)));
        let deadline = Instant::now() + support::TIMEOUT;
        while !gate.load(Ordering::SeqCst) {
            if Instant::now() > deadline || c.peer_closed() {
                return;
            }
        }
        let _ = c.write_all(&vec![b'p'; total - total / 2]);
    })
}

#[test]
fn progress_reports_download_totals() {
    struct P {
        seen: Vec<Progress>,
        gate: Arc<AtomicBool>,
    }
    impl Handler for P {
        fn progress(&mut self, _ctx: &mut Ctx<'_>, p: &Progress) -> bool {
            self.seen.push(*p);
            if p.dlnow > 0 {
                self.gate.store(true, Ordering::SeqCst);
            }
            true
        }
    }
    let gate = Arc::new(AtomicBool::new(false));
    let srv = half_then_gate(100_000, gate.clone());
    let mut e = Easy::with_handler(
        &srv.url("/"),
        P {
            seen: Vec::new(),
            gate,
        },
    )
    .unwrap();
    e.progress(true);
    let f = run_one(e);
    f.unwrap();
    let seen = &f.easy.handler::<P>().unwrap().seen;
    assert!(
        seen.iter().any(|p| p.dltotal == 100_000 && p.dlnow > 0),
        "{seen:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[0].dlnow <= w[1].dlnow),
        "{seen:?}"
    );
    assert!(
        seen.iter().all(|p| p.dlnow <= 100_000 && p.ultotal == 0),
        "{seen:?}"
    );
    assert_eq!(f.easy.info().size_download, 100_000);
}

#[test]
fn progress_false_aborts() {
    struct P;
    impl Handler for P {
        fn progress(&mut self, _ctx: &mut Ctx<'_>, p: &Progress) -> bool {
            p.dlnow == 0
        }
    }
    // The rest of the body is never released: only the abort ends the transfer.
    let srv = half_then_gate(100_000, Arc::new(AtomicBool::new(false)));
    let mut e = Easy::with_handler(&srv.url("/"), P).unwrap();
    e.progress(true);
    let f = run_one(e);
    assert_eq!(f.kind(), Some(ErrorKind::AbortedByCallback));
}

#[test]
fn progress_not_called_when_off() {
    let srv = Server::start(keep_alive_responder(vec![1; 10_000]));
    let f = run_one(rec_easy(&srv.url("/")));
    f.unwrap();
    assert!(f.easy.handler::<Rec>().unwrap().progress.is_empty());
}

#[test]
fn debug_sees_headers_out_in_and_text() {
    let srv = Server::start(keep_alive_responder(b"dbg".to_vec()));
    let mut e = rec_easy(&srv.url("/dbg"));
    e.verbose(true);
    let f = run_one(e);
    f.unwrap();
    let rec = f.easy.handler::<Rec>().unwrap();
    let out = rec.debug_text(DebugKind::HeaderOut);
    assert!(out.starts_with("GET /dbg HTTP/1.1\r\n"), "{out:?}");
    assert!(out.ends_with("\r\n\r\n"), "{out:?}");
    assert_eq!(
        out.as_bytes(),
        &srv.last_request().unwrap().raw_head[..],
        "HeaderOut shows what was sent"
    );
    let inn = rec.debug_text(DebugKind::HeaderIn);
    assert_eq!(inn, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n");
    assert!(!rec.debug_text(DebugKind::Text).is_empty());
    assert_eq!(rec.debug_text(DebugKind::DataIn), "dbg");
    // Nothing at all without verbose.
    let f = run_one(rec_easy(&srv.url("/quiet")));
    assert!(f.easy.handler::<Rec>().unwrap().debug.is_empty());
}

#[test]
fn debug_shows_data_out() {
    let srv = Server::start(routes(|_| Response::ok("k")));
    let mut e = rec_easy(&srv.url("/"));
    e.verbose(true).body(&b"posted bytes"[..]);
    let f = run_one(e);
    f.unwrap();
    assert_eq!(
        f.easy
            .handler::<Rec>()
            .unwrap()
            .debug_text(DebugKind::DataOut),
        "posted bytes"
    );
}

#[test]
fn ctx_add_from_a_callback_starts_a_transfer() {
    struct Spawner {
        url: String,
        added: Arc<Mutex<Option<TransferId>>>,
    }
    impl Handler for Spawner {
        fn done(&mut self, ctx: &mut Ctx<'_>, result: &Result<(), Error>) {
            assert!(result.is_ok());
            let id = ctx.add(rec_easy(&self.url));
            *self.added.lock().unwrap() = Some(id);
        }
    }
    let srv = Server::start(routes(|req| Response::ok(req.path().to_string())));
    let added = Arc::new(Mutex::new(None));
    let mut m = Multi::new();
    let first = m.add(
        Easy::with_handler(
            &srv.url("/first"),
            Spawner {
                url: srv.url("/second"),
                added: added.clone(),
            },
        )
        .unwrap(),
    );
    let r = finish(&mut m);
    let second = added.lock().unwrap().expect("callback added a transfer");
    assert_eq!(r.len(), 2);
    r[&first].unwrap();
    assert_eq!(r[&second].unwrap().body(), b"/second");
    let paths: Vec<String> = srv.request_log().into_iter().map(|r| r.target).collect();
    assert_eq!(paths, ["/first", "/second"]);
}

#[test]
fn ctx_add_from_write_callback() {
    struct Spawner {
        url: String,
        added: Arc<Mutex<Vec<TransferId>>>,
    }
    impl Handler for Spawner {
        fn write(&mut self, ctx: &mut Ctx<'_>, _data: &[u8]) -> Flow {
            let id = ctx.add(rec_easy(&self.url));
            // The new transfer is known to the multi right away.
            assert!(ctx.info_of(id).is_some());
            self.added.lock().unwrap().push(id);
            Flow::Continue
        }
    }
    let srv = Server::start(routes(|req| Response::ok(req.path().to_string())));
    let added = Arc::new(Mutex::new(Vec::new()));
    let mut m = Multi::new();
    m.add(
        Easy::with_handler(
            &srv.url("/parent"),
            Spawner {
                url: srv.url("/child"),
                added: added.clone(),
            },
        )
        .unwrap(),
    );
    let r = finish(&mut m);
    let added = added.lock().unwrap();
    assert!(!added.is_empty());
    assert_eq!(r.len(), 1 + added.len());
    for id in added.iter() {
        assert_eq!(r[id].unwrap().body(), b"/child");
    }
}

#[test]
fn ctx_remove_cancels_another_transfer() {
    /// Sets its flag when dropped (the removed transfer's Easy is dropped).
    struct Victim(Arc<AtomicBool>, Arc<AtomicUsize>);
    impl Handler for Victim {
        fn done(&mut self, _ctx: &mut Ctx<'_>, _r: &Result<(), Error>) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }
    impl Drop for Victim {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    struct Killer {
        victim: Arc<Mutex<Option<TransferId>>>,
    }
    impl Handler for Killer {
        fn write(&mut self, ctx: &mut Ctx<'_>, _data: &[u8]) -> Flow {
            if let Some(id) = self.victim.lock().unwrap().take() {
                ctx.remove(id);
            }
            Flow::Continue
        }
    }
    let closed = Arc::new(AtomicBool::new(false));
    let closed2 = closed.clone();
    let got_victim_request = Arc::new(AtomicBool::new(false));
    let got2 = got_victim_request.clone();
    // The victim's server never answers; it notes when the client goes away.
    let slow = Server::start(move |c: &mut Conn| {
        if c.read_request().is_some() {
            got2.store(true, Ordering::SeqCst);
            if c.peer_closed() {
                closed2.store(true, Ordering::SeqCst);
            }
        }
    });
    let flag = got_victim_request.clone();
    // The killer's answer waits until the victim's request is in flight.
    let fast = Server::start(move |c: &mut Conn| {
        if c.read_request().is_some() {
            support::wait_until("victim request", support::TIMEOUT, || {
                flag.load(Ordering::SeqCst)
            });
            c.respond(200, &[], b"kill");
        }
    });
    let dropped = Arc::new(AtomicBool::new(false));
    let done_calls = Arc::new(AtomicUsize::new(0));
    let mut m = Multi::new();
    let victim = m.add(
        Easy::with_handler(&slow.url("/"), Victim(dropped.clone(), done_calls.clone())).unwrap(),
    );
    let slot = Arc::new(Mutex::new(Some(victim)));
    let killer = m.add(
        Easy::with_handler(
            &fast.url("/"),
            Killer {
                victim: slot.clone(),
            },
        )
        .unwrap(),
    );
    let r = run_multi(&mut m);
    assert!(slot.lock().unwrap().is_none(), "killer never ran");
    r[&killer].as_ref().unwrap();
    assert!(
        !r.contains_key(&victim),
        "no completion message for a removed transfer"
    );
    assert_eq!(m.running(), 0);
    assert!(m.info(victim).is_none());
    assert!(m.remove(victim).is_none());
    assert!(
        dropped.load(Ordering::SeqCst),
        "the victim's Easy was not dropped"
    );
    assert_eq!(done_calls.load(Ordering::SeqCst), 0);
    support::wait_until("victim connection closed", support::TIMEOUT, || {
        closed.load(Ordering::SeqCst)
    });
    assert_eq!(
        m.connection_counts().0,
        1,
        "only the killer's connection remains"
    );
}

#[test]
fn multi_remove_of_running_transfer_returns_the_easy() {
    let srv = silent_server();
    let mut m = Multi::new();
    let id = m.add(rec_easy(&srv.url("/")));
    poll_until(&mut m, "request sent", |_| srv.requests() == 1);
    let e = m.remove(id).expect("running transfer");
    assert_eq!(m.running(), 0);
    assert!(m.info_read().is_none());
    // The handler comes back; done was not called.
    assert!(e.handler::<Rec>().unwrap().done.is_empty());
    assert_eq!(m.connection_counts(), (0, 0));
}

#[test]
fn done_called_once_with_the_result() {
    let srv = Server::start(keep_alive_responder(b"ok".to_vec()));
    let refused = support::refused_addr();
    let mut m = Multi::new();
    let ok = m.add(rec_easy(&srv.url("/")));
    let bad = m.add(rec_easy(&format!("http://{refused}/")));
    let r = finish(&mut m);
    assert_eq!(r[&ok].easy.handler::<Rec>().unwrap().done, [None]);
    assert_eq!(
        r[&bad].easy.handler::<Rec>().unwrap().done,
        [Some(ErrorKind::CouldntConnect)]
    );
    assert_eq!(r[&bad].kind(), Some(ErrorKind::CouldntConnect));
}

#[test]
fn done_sees_final_info() {
    struct D(Option<(u16, u64)>);
    impl Handler for D {
        fn done(&mut self, ctx: &mut Ctx<'_>, _r: &Result<(), Error>) {
            self.0 = Some((ctx.info().response_code, ctx.info().size_download));
        }
    }
    let srv = Server::start(routes(|_| Response::new(404).body("nope!")));
    let f = run_one(Easy::with_handler(&srv.url("/"), D(None)).unwrap());
    f.unwrap();
    assert_eq!(f.easy.handler::<D>().unwrap().0, Some((404, 5)));
}

/// Upload handler: pauses on its first read, then serves `data`.
struct PausingReader {
    data: Vec<u8>,
    pos: usize,
    paused: Arc<AtomicBool>,
}

impl Handler for PausingReader {
    fn read(&mut self, _ctx: &mut Ctx<'_>, buf: &mut [u8]) -> ReadResult {
        if !self.paused.swap(true, Ordering::SeqCst) {
            return ReadResult::Pause;
        }
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        ReadResult::Data(n)
    }
}

fn read_pause_then_unpause(size: Option<u64>) {
    let srv = Server::start(routes(|req| Response::ok(req.body.len().to_string())));
    let data = pattern(150_000);
    let paused = Arc::new(AtomicBool::new(false));
    let mut e = Easy::with_handler(
        &srv.url("/up"),
        PausingReader {
            data: data.clone(),
            pos: 0,
            paused: paused.clone(),
        },
    )
    .unwrap();
    e.upload(size).method("POST").unwrap();
    e.header("Expect", "").unwrap();
    let mut m = Multi::new();
    let id = m.add(e);
    poll_until(&mut m, "read pause", |_| paused.load(Ordering::SeqCst));
    for _ in 0..3 {
        m.poll(Some(Duration::from_millis(5))).unwrap();
    }
    assert_eq!(m.running(), 1);
    assert!(m.unpause(id, Direction::Send));
    let r = run_multi(&mut m);
    r[&id].as_ref().unwrap();
    let req = srv.last_request().unwrap();
    assert_same_bytes(&req.body, &data);
    assert_eq!(
        m.remove(id).unwrap().info().size_upload,
        if size.is_some() {
            data.len() as u64
        } else {
            m_size_upload_chunked(&req.raw_body)
        }
    );
}

/// For a chunked upload the wire bytes include the framing.
fn m_size_upload_chunked(raw: &[u8]) -> u64 {
    raw.len() as u64
}

#[test]
fn read_pause_and_unpause_content_length() {
    read_pause_then_unpause(Some(150_000));
}

#[test]
fn read_pause_and_unpause_chunked() {
    read_pause_then_unpause(None);
}

#[test]
fn read_abort_is_aborted_by_callback() {
    struct A;
    impl Handler for A {
        fn read(&mut self, _ctx: &mut Ctx<'_>, _buf: &mut [u8]) -> ReadResult {
            ReadResult::Abort
        }
    }
    let srv = silent_server();
    let mut e = Easy::with_handler(&srv.url("/"), A).unwrap();
    e.upload(Some(10));
    assert_eq!(run_one(e).kind(), Some(ErrorKind::AbortedByCallback));
}

#[test]
fn pause_from_ctx_of_another_transfer() {
    // A pauses B's receiving from its header callback; the test then unpauses B.
    struct PauseOther(Arc<Mutex<Option<TransferId>>>, Arc<AtomicBool>);
    impl Handler for PauseOther {
        fn header(&mut self, ctx: &mut Ctx<'_>, _l: &[u8]) -> Flow {
            if let Some(id) = self.0.lock().unwrap().take() {
                assert!(ctx.pause_transfer(id, Direction::Recv));
                self.1.store(true, Ordering::SeqCst);
            }
            Flow::Continue
        }
    }
    let gate = Arc::new(AtomicBool::new(false));
    let g = gate.clone();
    // B's server sends its response only after A paused B.
    let b_srv = Server::start(move |c: &mut Conn| {
        if c.read_request().is_some() {
            support::wait_until("B paused", support::TIMEOUT, || g.load(Ordering::SeqCst));
            c.respond(200, &[], &pattern(50_000));
        }
    });
    let a_srv = Server::start(keep_alive_responder(b"a".to_vec()));
    let slot = Arc::new(Mutex::new(None));
    let mut m = Multi::new();
    let b = m.add(rec_easy(&b_srv.url("/")));
    *slot.lock().unwrap() = Some(b);
    let a = m.add(Easy::with_handler(&a_srv.url("/"), PauseOther(slot, gate.clone())).unwrap());
    poll_until(&mut m, "A done", |m| {
        m.info(a).is_some_and(|i| i.response_code == 200) && m.running() == 1
    });
    // B stays paused: give it time to (wrongly) finish.
    for _ in 0..20 {
        m.poll(Some(Duration::from_millis(5))).unwrap();
    }
    assert_eq!(m.running(), 1, "B finished while paused");
    assert!(m.unpause(b, Direction::Recv));
    let r = finish(&mut m);
    assert_same_bytes(r[&b].unwrap().body(), &pattern(50_000));
}

#[test]
fn ctx_remove_of_itself() {
    struct SelfRemove(usize);
    impl Handler for SelfRemove {
        fn write(&mut self, ctx: &mut Ctx<'_>, _data: &[u8]) -> Flow {
            self.0 += 1;
            let id = ctx.id();
            ctx.remove(id);
            Flow::Continue
        }
    }
    let srv = Server::start(|c: &mut Conn| {
        if c.read_request().is_some() {
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nfirst");
            c.peer_closed();
        }
    });
    let other = Server::start(keep_alive_responder(b"other".to_vec()));
    let mut m = Multi::new();
    let me = m.add(Easy::with_handler(&srv.url("/"), SelfRemove(0)).unwrap());
    let ok = m.add(rec_easy(&other.url("/")));
    let r = finish(&mut m);
    assert!(!r.contains_key(&me));
    assert_eq!(r[&ok].unwrap().body(), b"other");
    assert!(m.info(me).is_none());
    assert_eq!(m.running(), 0);
}
