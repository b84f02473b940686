//! The closing handshake: a close from the server in the middle of one of our frames (RFC 6455
//! §5.5.1: the frame is finished, then the close is answered; past the bounds the frame is
//! abandoned and the connection dropped without a close), and the close timeout's result in
//! both models.
//!
//! The servers are scripted frame by frame ([`support::ws_raw`]) so that they see exactly what
//! the client wrote: a frame cut short shows as such.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use curlew::ws::{WsError, BINARY, TEXT};
use curlew::{Ctx, Easy, ErrorKind, Flow, Handler, Multi, ReadResult, TransferId};
use support::client::{pattern, run_one};
use support::http_server::{Conn, Server};
use support::ws_raw::{close_code, close_frame, read_frame, read_head, unmask, upgrade, ReadFrame};
use support::{wait_until, TIMEOUT};

const CLOSE: u8 = 8;

/// What the server saw of the client's frame after its own close.
#[derive(Debug, Default)]
struct Report {
    /// The whole payload of the frame the close interrupted; `None` if it was cut short.
    frame: Option<Vec<u8>>,
    /// What followed, up to and including the end of the connection (or a close frame).
    after: Vec<ReadFrame>,
}

type Shared = Arc<Mutex<Option<Report>>>;

/// Upgrades, reads the header and `after` payload bytes of the client's first frame, sends a
/// close with `code`, reads the rest of the frame in 64 KiB reads, then the frames that follow
/// until a close frame or the end.
fn close_mid_frame_server(after: usize, code: u16) -> (Server, Shared) {
    let seen: Shared = Arc::default();
    let s2 = seen.clone();
    let srv = Server::start(move |c: &mut Conn| {
        if !upgrade(c) {
            return;
        }
        let Ok(Some(head)) = read_head(c) else {
            *s2.lock().unwrap() = Some(Report::default());
            return;
        };
        let len = head.len as usize;
        let mut frame = None;
        if let Ok(mut payload) = c.read_exact_bytes(after.min(len)) {
            c.write_all(&close_frame(code)).unwrap();
            // The rest, in 64 KiB reads.
            while payload.len() < len {
                match c.read_exact_bytes((len - payload.len()).min(64 << 10)) {
                    Ok(b) => payload.extend_from_slice(&b),
                    Err(_) => break,
                }
            }
            if payload.len() == len {
                unmask(&mut payload, head.key, 0);
                frame = Some(payload);
            }
        }
        let mut rest = Vec::new();
        if frame.is_some() {
            loop {
                let r = read_frame(c);
                let end = !matches!(&r, ReadFrame::Frame(f) if f.opcode != CLOSE);
                rest.push(r);
                if end {
                    break;
                }
            }
        }
        *s2.lock().unwrap() = Some(Report { frame, after: rest });
    });
    (srv, seen)
}

fn ws_url(srv: &Server) -> String {
    srv.url("/").replace("http://", "ws://")
}

/// The server's report, once it has one.
#[track_caller]
fn report(seen: &Shared) -> Report {
    wait_until("the server's report", TIMEOUT, || {
        seen.lock().unwrap().is_some()
    });
    seen.lock().unwrap().take().unwrap()
}

/// The client finished the frame, then answered the close with the same code.
#[track_caller]
fn assert_finished_then_closed(r: &Report, data: &[u8], code: u16) {
    let frame = r.frame.as_deref().expect("the frame was cut short");
    assert!(frame == data, "the frame's payload differs");
    match r.after.first() {
        Some(ReadFrame::Frame(f)) if f.opcode == CLOSE => {
            assert_eq!(close_code(&f.payload), Some(code));
        }
        other => panic!("expected a close frame after the data frame, got {other:?}"),
    }
}

/// The frame was cut short and no close frame was sent.
#[track_caller]
fn assert_abandoned(r: &Report) {
    assert!(r.frame.is_none(), "the frame was finished");
}

// ----- connect-only ----------------------------------------------------------------------

fn connect_only(url: &str, configure: impl FnOnce(&mut Easy)) -> (Multi, TransferId) {
    let mut m = Multi::new();
    let mut e = Easy::new(url).unwrap();
    e.connect_only(true);
    configure(&mut e);
    let id = m.add(e);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(msg) = m.info_read() {
            msg.result.expect("upgrade");
            return (m, id);
        }
        assert!(Instant::now() < deadline, "no upgrade");
        m.poll(Some(Duration::from_millis(50))).unwrap();
    }
}

/// Receives until the server's close frame; its payload.
fn recv_close(m: &mut Multi, id: TransferId) -> Vec<u8> {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        assert!(Instant::now() < deadline, "no close from the server");
        m.poll(Some(Duration::from_millis(10))).unwrap();
        match m.ws(id).unwrap().recv() {
            Ok((f, data)) if f.is_close() => return data.to_vec(),
            Ok((f, _)) => panic!("unexpected frame {f:?}"),
            Err(WsError::WouldBlock) => {}
            Err(e) => panic!("recv: {e}"),
        }
    }
}

/// Runs the multi and receives until the transfer ends: the error `recv` then answers.
fn recv_until_end(m: &mut Multi, id: TransferId) -> WsError {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        assert!(Instant::now() < deadline, "the transfer did not end");
        m.poll(Some(Duration::from_millis(10))).unwrap();
        match m.ws(id).unwrap().recv() {
            Ok(_) | Err(WsError::WouldBlock) => {}
            Err(e) => return e,
        }
    }
}

/// Sends `data[*off..upto]` as the rest of the frame in progress (started by the first call:
/// with `OFFSET` when `streamed`, else a plain send of everything the queue takes).
fn supply(
    m: &mut Multi,
    id: TransferId,
    data: &[u8],
    off: &mut usize,
    upto: usize,
    streamed: bool,
) {
    let deadline = Instant::now() + TIMEOUT;
    while *off < upto {
        assert!(Instant::now() < deadline, "the send queue did not drain");
        let mut ws = m.ws(id).unwrap();
        let r = match (*off, streamed) {
            (0, true) => ws.send_offset(&data[..upto], data.len() as u64, BINARY),
            (0, false) => ws.send(data, BINARY),
            _ => ws.send(&data[*off..upto], BINARY),
        };
        match r {
            Ok(n) => *off += n,
            Err(WsError::WouldBlock) => {}
            Err(e) => panic!("send: {e}"),
        }
        if !streamed && *off > 0 && upto < data.len() {
            return; // the first send took what it could: hold the rest
        }
        m.poll(Some(Duration::from_millis(10))).unwrap();
    }
}

/// A 12 MiB frame; the server closes with 1001 after reading 1 MiB of it, while the
/// application holds the rest of the frame. It then finishes the frame; the close answer
/// follows the frame's last byte and the transfer ends cleanly.
fn connect_only_finishes_the_frame(streamed: bool) {
    let data = pattern(12 << 20);
    let (srv, seen) = close_mid_frame_server(1 << 20, 1001);
    let (mut m, id) = connect_only(&ws_url(&srv), |_| {});
    let mut off = 0;
    supply(&mut m, id, &data, &mut off, 2 << 20, streamed);
    assert_eq!(close_code(&recv_close(&mut m, id)), Some(1001));
    assert!(off < data.len(), "the frame is still in progress");
    // Nothing new may start; the frame in progress may be finished.
    assert!(matches!(
        m.ws(id).unwrap().send(b"x", TEXT),
        Err(WsError::FrameInProgress)
    ));
    supply(&mut m, id, &data, &mut off, data.len(), streamed);
    assert!(matches!(
        m.ws(id).unwrap().send(b"x", BINARY),
        Err(WsError::Closed)
    ));
    assert!(matches!(recv_until_end(&mut m, id), WsError::Closed));
    assert_finished_then_closed(&report(&seen), &data, 1001);
}

#[test]
fn connect_only_finishes_a_streamed_frame_before_answering_the_close() {
    connect_only_finishes_the_frame(true);
}

#[test]
fn connect_only_finishes_a_partly_accepted_frame_before_answering_the_close() {
    connect_only_finishes_the_frame(false);
}

/// We close; the server reads our close and never answers. The close timeout ends the
/// transfer with `OperationTimedout`, which every later call on the handle reports.
#[test]
fn connect_only_close_timeout_ends_with_a_timeout_error() {
    let seen: Arc<Mutex<Option<Option<u16>>>> = Arc::default();
    let s2 = seen.clone();
    let srv = Server::start(move |c: &mut Conn| {
        if !upgrade(c) {
            return;
        }
        let code = match read_frame(c) {
            ReadFrame::Frame(f) if f.opcode == CLOSE => close_code(&f.payload),
            _ => None,
        };
        *s2.lock().unwrap() = Some(code);
        c.read_to_eof(); // hold the connection until the client drops it
    });
    let (mut m, id) = connect_only(&ws_url(&srv), |e| {
        e.ws_close_timeout(Duration::from_millis(300));
    });
    m.ws(id).unwrap().close(1000, "").unwrap();
    let e = match recv_until_end(&mut m, id) {
        WsError::Failed(e) => e,
        other => panic!("expected a failure, got {other:?}"),
    };
    assert_eq!(e.kind(), ErrorKind::OperationTimedout);
    assert!(
        e.to_string().contains("no close frame from the peer"),
        "{e}"
    );
    let mut ws = m.ws(id).unwrap();
    assert!(matches!(ws.send_text("late"), Err(WsError::Failed(e)) if e.is_timeout()));
    assert!(matches!(ws.recv(), Err(WsError::Failed(e)) if e.is_timeout()));
    assert_eq!(ws.queued(), 0, "nothing more will be written");
    wait_until("the server to read our close", TIMEOUT, || {
        seen.lock().unwrap().is_some()
    });
    assert_eq!(*seen.lock().unwrap(), Some(Some(1000)));
}

// ----- callback model --------------------------------------------------------------------

/// Streams one frame of `data` (declared whole with `OFFSET`), holding at `hold` bytes until
/// the server's close arrives; then, if `finish`, supplies the rest.
struct Streamer {
    data: Vec<u8>,
    off: usize,
    hold: usize,
    finish: bool,
    peer_closed: bool,
}

impl Streamer {
    fn new(len: usize, hold: usize, finish: bool) -> Self {
        Streamer {
            data: pattern(len),
            off: 0,
            hold,
            finish,
            peer_closed: false,
        }
    }

    fn push(&mut self, ctx: &mut Ctx<'_>) {
        let upto = if self.peer_closed && self.finish {
            self.data.len()
        } else {
            self.hold
        };
        let mut ws = ctx.ws().unwrap();
        while self.off < upto {
            let r = if self.off == 0 {
                ws.send_offset(&self.data[..upto], self.data.len() as u64, BINARY)
            } else {
                ws.send(&self.data[self.off..upto], BINARY)
            };
            match r {
                Ok(n) => self.off += n,
                // The frame was abandoned at the server's close.
                Err(WsError::WouldBlock | WsError::Closed) => return,
                Err(e) => panic!("send: {e}"),
            }
        }
    }
}

impl Handler for Streamer {
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        self.push(ctx);
        Flow::Continue
    }
    fn ws_writable(&mut self, ctx: &mut Ctx<'_>) {
        self.push(ctx);
    }
    fn write(&mut self, ctx: &mut Ctx<'_>, _data: &[u8]) -> Flow {
        if ctx.ws_meta().unwrap().is_close() {
            self.peer_closed = true;
            self.push(ctx);
        }
        Flow::Continue
    }
}

#[test]
fn callback_model_finishes_the_frame_before_answering_the_close() {
    let (srv, seen) = close_mid_frame_server(1 << 20, 1001);
    let e = Easy::with_handler(&ws_url(&srv), Streamer::new(12 << 20, 2 << 20, true)).unwrap();
    let f = run_one(e);
    f.unwrap();
    let s = f.easy.handler::<Streamer>().unwrap();
    assert!(s.peer_closed);
    assert_finished_then_closed(&report(&seen), &s.data, 1001);
}

/// The read callback feeds frames without end; the server closes in the middle. The frame in
/// flight is finished from what the callback already gave, no new frame is asked for, and the
/// transfer ends cleanly (not with a read error).
#[test]
fn read_callback_frames_stop_at_the_close() {
    struct Endless(u64);
    impl Handler for Endless {
        fn read(&mut self, _ctx: &mut Ctx<'_>, buf: &mut [u8]) -> ReadResult {
            buf.fill(b'r');
            self.0 += buf.len() as u64;
            ReadResult::Data(buf.len())
        }
    }
    let seen: Arc<Mutex<Option<Vec<ReadFrame>>>> = Arc::default();
    let s2 = seen.clone();
    let srv = Server::start(move |c: &mut Conn| {
        if !upgrade(c) {
            return;
        }
        let mut got = Vec::new();
        let mut total = 0;
        loop {
            let r = read_frame(c);
            if let ReadFrame::Frame(f) = &r {
                total += f.payload.len();
                if total >= 1 << 20 && total - f.payload.len() < 1 << 20 {
                    c.write_all(&close_frame(1001)).unwrap();
                }
            }
            let end = !matches!(&r, ReadFrame::Frame(f) if f.opcode != CLOSE);
            got.push(r);
            if end {
                break;
            }
        }
        *s2.lock().unwrap() = Some(got);
    });
    let mut e = Easy::with_handler(&ws_url(&srv), Endless(0)).unwrap();
    e.upload(None);
    run_one(e).unwrap();
    wait_until("the server's report", TIMEOUT, || {
        seen.lock().unwrap().is_some()
    });
    let got = seen.lock().unwrap().take().unwrap();
    let (last, frames) = got.split_last().unwrap();
    assert!(
        matches!(last, ReadFrame::Frame(f) if f.opcode == CLOSE && close_code(&f.payload) == Some(1001)),
        "{last:?}"
    );
    for f in frames {
        assert!(
            matches!(f, ReadFrame::Frame(f) if f.opcode == 2 && f.fin),
            "{f:?}"
        );
    }
}

/// More than `ws_max_close_finish` bytes of the frame are missing when the server closes:
/// the frame is abandoned at once, the connection dropped without a close frame, and the
/// transfer fails with `SendError`.
#[test]
fn a_remainder_over_the_finish_bound_is_abandoned() {
    let (srv, seen) = close_mid_frame_server(512 << 10, 1001);
    let mut e = Easy::with_handler(&ws_url(&srv), Streamer::new(24 << 20, 1 << 20, true)).unwrap();
    e.ws_max_close_finish(16 << 20);
    let f = run_one(e);
    assert_eq!(f.kind(), Some(ErrorKind::SendError), "{:?}", f.result);
    let err = f.result.as_ref().unwrap_err().to_string();
    assert!(err.contains("abandoned"), "{err}");
    assert_abandoned(&report(&seen));
}

/// The application never finishes the frame: the close timeout ends the transfer, without a
/// close frame (none can follow a partial frame).
#[test]
fn an_unfinished_frame_times_out_without_a_close() {
    let (srv, seen) = close_mid_frame_server(512 << 10, 1001);
    let mut e = Easy::with_handler(&ws_url(&srv), Streamer::new(2 << 20, 1 << 20, false)).unwrap();
    e.ws_close_timeout(Duration::from_millis(300));
    let f = run_one(e);
    assert_eq!(
        f.kind(),
        Some(ErrorKind::OperationTimedout),
        "{:?}",
        f.result
    );
    let err = f.result.as_ref().unwrap_err().to_string();
    assert!(err.contains("not finished"), "{err}");
    assert_abandoned(&report(&seen));
}
