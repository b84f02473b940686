//! Decompression bombs against every decoder, measured in allocated bytes: a counting global
//! allocator (dhat's, in testing mode) records the peak of live heap bytes in this test binary
//! while a 1 GiB bomb (about 1 MB on the wire) is decoded, and the peak must stay a few MiB, independent of the decoded
//! size. Decoded output is produced in bounded pieces and handed on before more input is
//! decoded, in every model:
//!
//! * HTTP `Content-Encoding: gzip` (Content-Length) and `deflate` (zlib, chunked), also paused
//!   every few pieces, and sixteen bombs at once on one multi;
//! * WebSocket permessage-deflate, a 1 GiB message in frame mode (`ws_max_message_size` above
//!   it): the callback model's write callback and the connect-only model's `WsHandle::recv`;
//!   message mode, which must buffer, is bounded by `ws_max_message_size` instead.
//!
//! (Raw mode passes compressed frames through without inflating them, so it has no bomb.)
//!
//! The tests take a lock so that only one measures at a time; the servers' allocations count
//! too, so they send prebuilt bodies without copying them.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use curlew::ws::{DeflateConfig, WsError, BINARY, CONT};
use curlew::{
    Ctx, Direction, Easy, ErrorKind, Flow, Handler, Multi, TransferId, DECODE_PIECE_SIZE,
};
use flate2::{Compress, Compression, FlushCompress};
use support::http_server::{Conn, Server};

// ----- measuring the heap ----------------------------------------------------------------

// dhat's allocator forwards to the system one and, while a profiler runs, records every
// block: `HeapStats::max_bytes` is the peak of live heap bytes since the profiler started.
#[global_allocator]
static GLOBAL: dhat::Alloc = dhat::Alloc;

/// One measurement at a time (there is one profiler per process).
static SERIAL: Mutex<()> = Mutex::new(());

/// A measurement in progress: the profiler (dropped first) and the lock.
struct Measuring {
    _profiler: dhat::Profiler,
    _serial: MutexGuard<'static, ()>,
}

/// Starts measuring: blocks live now do not count. Hold the value until [`peak_bytes`] was
/// read.
fn measure() -> Measuring {
    let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let profiler = dhat::Profiler::builder()
        .testing()
        .trim_backtraces(Some(4))
        .build();
    Measuring {
        _profiler: profiler,
        _serial: serial,
    }
}

/// Most heap bytes live at once since [`measure`] (blocks allocated since).
fn peak_bytes() -> usize {
    dhat::HeapStats::get().max_bytes
}

const MIB: usize = 1 << 20;
/// The decoded size of the bombs.
const BOMB: usize = 1 << 30;
/// The bound on memory while one bomb is decoded: the receive buffer (up to 1 MiB, which
/// doubling reaches through a 512 KiB one), the decoder's piece buffer and window, the
/// multi's and the server's bookkeeping. Far below the 1 GiB decoded.
const BOUND: usize = 4 * MIB;

// ----- bombs -------------------------------------------------------------------------

/// Raw deflate blocks of `mib` MiB of zeros, not final, ending byte-aligned with a sync flush
/// (`00 00 ff ff`): one compressed MiB repeated (every copy starts on a byte boundary and
/// refers only to zeros, so the repetition is a valid stream). About 1 KB per MiB.
fn deflate_zeros(mib: usize) -> Vec<u8> {
    let mut z = Compress::new(Compression::best(), false);
    let mut one = Vec::with_capacity(64 * 1024);
    z.compress_vec(&vec![0u8; MIB], &mut one, FlushCompress::Sync)
        .expect("compress");
    assert!(one.ends_with(&[0, 0, 0xff, 0xff]));
    one.repeat(mib)
}

/// An empty final block (fixed Huffman, end-of-block only).
const FINAL_BLOCK: [u8; 2] = [0x03, 0x00];

/// A gzip member of `mib` MiB of zeros.
fn gzip_zeros(mib: usize) -> Vec<u8> {
    let mut v = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff];
    v.extend_from_slice(&deflate_zeros(mib));
    v.extend_from_slice(&FINAL_BLOCK);
    let mut crc = flate2::Crc::new();
    let zeros = vec![0u8; MIB];
    for _ in 0..mib {
        crc.update(&zeros);
    }
    v.extend_from_slice(&crc.sum().to_le_bytes());
    v.extend_from_slice(&((mib * MIB) as u32).to_le_bytes());
    v
}

/// A zlib stream (`Content-Encoding: deflate`) of `mib` MiB of zeros.
fn zlib_zeros(mib: usize) -> Vec<u8> {
    let mut v = vec![0x78, 0xda];
    v.extend_from_slice(&deflate_zeros(mib));
    v.extend_from_slice(&FINAL_BLOCK);
    // Adler-32 of n zeros: a stays 1, b counts the bytes.
    let b = ((mib * MIB) % 65521) as u32;
    v.extend_from_slice(&(b << 16 | 1).to_be_bytes());
    v
}

// ----- HTTP --------------------------------------------------------------------------

/// Serves `body` (already encoded as `coding`) to every request, with a Content-Length or
/// chunked in 64 KiB chunks, writing straight from the shared body.
fn bomb_server(body: Arc<Vec<u8>>, coding: &'static str, chunked: bool) -> Server {
    Server::start(move |c: &mut Conn| {
        while c.read_request().is_some() {
            let framing = if chunked {
                "Transfer-Encoding: chunked".to_string()
            } else {
                format!("Content-Length: {}", body.len())
            };
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Encoding: {coding}\r\n{framing}\r\n\r\n");
            if c.write_all(head.as_bytes()).is_err() {
                return;
            }
            let sent = if chunked {
                body.chunks(64 * 1024).try_for_each(|piece| {
                    c.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
                    c.write_all(piece)?;
                    c.write_all(b"\r\n")
                })
            } else {
                c.write_all(&body)
            };
            if sent.is_err() || (chunked && c.write_all(b"0\r\n\r\n").is_err()) {
                return;
            }
        }
    })
}

/// Counts decoded bytes (all zeros), the largest write, and pauses after every `pause_every`
/// writes (0: never), flagging it in `paused` for the test loop to unpause.
#[derive(Default)]
struct Sink {
    bytes: usize,
    writes: usize,
    largest: usize,
    pause_every: usize,
    paused: Arc<AtomicBool>,
}

static ZEROS: [u8; DECODE_PIECE_SIZE] = [0; DECODE_PIECE_SIZE];

impl Handler for Sink {
    fn write(&mut self, _ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let first = self.pause_every == 0 || !self.paused.load(Ordering::SeqCst);
        if first {
            // A write repeated after a pause is the same piece again: count it once.
            assert!(data.chunks(ZEROS.len()).all(|c| c == &ZEROS[..c.len()]));
            self.bytes += data.len();
            self.writes += 1;
            self.largest = self.largest.max(data.len());
        }
        self.paused.store(false, Ordering::SeqCst);
        if self.pause_every > 0 && first && self.writes % self.pause_every == 0 {
            self.paused.store(true, Ordering::SeqCst);
            return Flow::Pause;
        }
        Flow::Continue
    }
}

/// Runs `easies` on one multi, unpausing any whose `Sink` paused, until all finished; returns
/// their sinks.
fn run_sinks(easies: Vec<Easy>, flags: &[Arc<AtomicBool>]) -> Vec<Sink> {
    let mut m = Multi::new();
    let ids: Vec<TransferId> = easies.into_iter().map(|e| m.add(e)).collect();
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut left = ids.len();
    while left > 0 {
        assert!(Instant::now() < deadline, "bombs still running: {m:?}");
        m.poll(Some(Duration::from_millis(20))).expect("poll");
        while let Some(msg) = m.info_read() {
            msg.result.expect("bomb transfer");
            left -= 1;
        }
        for (id, flag) in ids.iter().zip(flags) {
            if flag.load(Ordering::SeqCst) {
                m.unpause(*id, Direction::Recv);
            }
        }
    }
    ids.into_iter()
        .map(|id| {
            let mut e = m.remove(id).expect("finished transfer");
            std::mem::take(e.handler_mut::<Sink>().expect("Sink"))
        })
        .collect()
}

/// Fetches `n` copies of the bomb at once with `Accept-Encoding` and checks each decoded in
/// full, in pieces of at most [`DECODE_PIECE_SIZE`]. Returns the peak growth.
fn fetch_bombs(srv: &Server, n: usize, pause_every: usize, want: usize) -> usize {
    let flags: Vec<_> = (0..n).map(|_| Arc::new(AtomicBool::new(false))).collect();
    let _measuring = measure();
    let easies = flags
        .iter()
        .map(|f| {
            let sink = Sink {
                pause_every,
                paused: f.clone(),
                ..Sink::default()
            };
            let mut e = Easy::with_handler(&srv.url("/bomb"), sink).expect("url");
            e.accept_encoding(true);
            e
        })
        .collect();
    let sinks = run_sinks(easies, &flags);
    let peak = peak_bytes();
    eprintln!(
        "{n} x {} MiB decoded, pause every {pause_every}: peak {:.2} MiB above the start",
        want / MIB,
        peak as f64 / MIB as f64
    );
    for s in &sinks {
        assert_eq!(s.bytes, want);
        assert!(s.largest <= DECODE_PIECE_SIZE, "a write of {}", s.largest);
    }
    peak
}

#[test]
fn http_gzip_bomb_decodes_in_bounded_memory() {
    let t = Instant::now();
    let srv = bomb_server(Arc::new(gzip_zeros(BOMB / MIB)), "gzip", false);
    let peak = fetch_bombs(&srv, 1, 0, BOMB);
    assert!(peak < BOUND, "peak {peak} bytes for a 1 GiB gzip bomb");
    eprintln!("took {:?}", t.elapsed());
}

#[test]
fn http_deflate_bomb_chunked_decodes_in_bounded_memory() {
    let srv = bomb_server(Arc::new(zlib_zeros(BOMB / MIB)), "deflate", true);
    let peak = fetch_bombs(&srv, 1, 0, BOMB);
    assert!(peak < BOUND, "peak {peak} bytes for a 1 GiB deflate bomb");
}

#[test]
fn paused_http_bomb_holds_one_piece() {
    // Paused every 64 pieces (4 MiB): the undecoded input waits in the receive buffer, the
    // decoded output in the decoder; the transfer holds only the piece it paused on.
    let srv = bomb_server(Arc::new(gzip_zeros(BOMB / MIB)), "gzip", false);
    let peak = fetch_bombs(&srv, 1, 64, BOMB);
    assert!(peak < BOUND, "peak {peak} bytes for a paused 1 GiB bomb");
}

#[test]
fn sixteen_http_bombs_at_once() {
    // Sixteen 64 MiB bombs on one multi: each costs its own bounded share, not its size.
    let srv = bomb_server(Arc::new(gzip_zeros(64)), "gzip", false);
    let peak = fetch_bombs(&srv, 16, 0, 64 * MIB);
    assert!(peak < 16 * BOUND / 2, "peak {peak} bytes for 16 bombs");
}

// ----- WebSocket permessage-deflate ---------------------------------------------------

/// A WebSocket server that accepts permessage-deflate and sends one compressed binary message
/// of `mib` MiB of zeros in a single frame, then a close frame, and waits for the client's
/// close.
fn ws_bomb_server(mib: usize) -> Server {
    let mut payload = deflate_zeros(mib);
    payload.truncate(payload.len() - 4); // the tail is implied (RFC 7692 §7.2.1)
    let payload = Arc::new(payload);
    Server::start(move |c: &mut Conn| {
        let Some(req) = c.read_request() else {
            return;
        };
        let accept = support::ws_accept(req.header("sec-websocket-key").expect("key"));
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
        );
        let mut frame = vec![0x80 | 0x40 | 0x2, 127];
        frame.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        let close = [0x88, 2, 0x03, 0xe8];
        let sent = c
            .write_all(head.as_bytes())
            .and_then(|()| c.write_all(&frame))
            .and_then(|()| c.write_all(&payload))
            .and_then(|()| c.write_all(&close));
        if sent.is_ok() {
            c.set_read_timeout(Some(Duration::from_secs(300)));
            let _ = c.read_exact_bytes(2);
        }
    })
}

fn ws_easy(srv: &Server, handler: impl Handler + 'static) -> Easy {
    let url = srv.url("/").replace("http://", "ws://");
    let mut e = Easy::with_handler(&url, handler).expect("url");
    e.ws_compress(Some(DeflateConfig::default()))
        .expect("compress");
    e
}

/// Callback model: counts the inflated bytes of the one message and its largest chunk;
/// pauses after every `pause_every` chunks (0: never), flagging it in `paused`.
#[derive(Default)]
struct WsSink {
    bytes: usize,
    chunks: usize,
    largest: usize,
    ended: bool,
    messages: usize,
    too_big: bool,
    pause_every: usize,
    paused: Arc<AtomicBool>,
}

impl Handler for WsSink {
    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let meta = ctx.ws_meta().expect("ws meta");
        // A chunk delivered again after a pause is counted once.
        if meta.flags & BINARY != 0 && !self.paused.swap(false, Ordering::SeqCst) {
            assert!(data.chunks(ZEROS.len()).all(|c| c == &ZEROS[..c.len()]));
            self.bytes += data.len();
            self.chunks += 1;
            self.largest = self.largest.max(data.len());
            self.ended |= meta.flags & CONT == 0;
            if self.pause_every > 0 && self.chunks % self.pause_every == 0 {
                self.paused.store(true, Ordering::SeqCst);
                return Flow::Pause;
            }
        }
        Flow::Continue
    }
    fn ws_message(&mut self, _ctx: &mut Ctx<'_>, msg: &[u8], _frame: curlew::ws::WsFrame) -> Flow {
        self.messages += 1;
        self.too_big |= msg.len() > MIB;
        Flow::Continue
    }
}

/// Runs a callback-model transfer to its end, unpausing it whenever `paused` is set.
fn run_ws(e: Easy, paused: &AtomicBool) -> (curlew::Result<()>, WsSink) {
    let mut m = Multi::new();
    let id = m.add(e);
    let deadline = Instant::now() + Duration::from_secs(300);
    let result = loop {
        assert!(Instant::now() < deadline, "WebSocket bomb still running");
        m.poll(Some(Duration::from_millis(20))).expect("poll");
        if let Some(msg) = m.info_read() {
            break msg.result;
        }
        if paused.load(Ordering::SeqCst) {
            m.unpause(id, Direction::Recv);
        }
    };
    let mut e = m.remove(id).expect("finished");
    (
        result,
        std::mem::take(e.handler_mut::<WsSink>().expect("WsSink")),
    )
}

/// Callback model, frame mode: the 1 GiB message arrives inflated in chunks, paused every
/// `pause_every` chunks (0: never).
fn ws_callback_bomb(pause_every: usize) {
    let srv = ws_bomb_server(BOMB / MIB);
    let paused = Arc::new(AtomicBool::new(false));
    let _measuring = measure();
    let sink = WsSink {
        pause_every,
        paused: paused.clone(),
        ..WsSink::default()
    };
    let mut e = ws_easy(&srv, sink);
    e.ws_max_message_size(2 * BOMB as u64);
    let (result, sink) = run_ws(e, &paused);
    let peak = peak_bytes();
    eprintln!(
        "ws callback model, pause every {pause_every}: peak {:.2} MiB",
        peak as f64 / MIB as f64
    );
    result.expect("clean close");
    assert_eq!(sink.bytes, BOMB);
    assert!(sink.ended);
    assert!(sink.largest <= curlew::proto::ws::INFLATE_CHUNK);
    assert!(
        peak < BOUND,
        "peak {peak} bytes for a 1 GiB inflated message"
    );
}

#[test]
fn ws_deflate_bomb_in_frame_mode_callback_model() {
    ws_callback_bomb(0);
}

#[test]
fn paused_ws_deflate_bomb_holds_one_chunk() {
    ws_callback_bomb(64);
}

#[test]
fn ws_deflate_bomb_in_frame_mode_connect_only() {
    let srv = ws_bomb_server(BOMB / MIB);
    let _measuring = measure();
    let mut m = Multi::new();
    let mut e = ws_easy(&srv, WsSink::default());
    e.connect_only(true).ws_max_message_size(2 * BOMB as u64);
    let id = m.add(e);
    let deadline = Instant::now() + Duration::from_secs(300);
    while m.info_read().is_none() {
        assert!(Instant::now() < deadline, "no upgrade");
        m.poll(Some(Duration::from_millis(20))).expect("poll");
    }
    let (mut bytes, mut largest, mut ended) = (0, 0, false);
    while !ended {
        assert!(Instant::now() < deadline, "message not received");
        let mut ws = m.ws(id).expect("ws");
        match ws.recv() {
            Ok((frame, data)) => {
                assert!(frame.flags & BINARY != 0, "{frame:?}");
                assert!(data.chunks(ZEROS.len()).all(|c| c == &ZEROS[..c.len()]));
                bytes += data.len();
                largest = largest.max(data.len());
                ended = frame.flags & CONT == 0;
            }
            Err(WsError::WouldBlock) => {
                m.poll(Some(Duration::from_millis(20))).expect("poll");
            }
            Err(e) => panic!("recv: {e}"),
        }
    }
    let peak = peak_bytes();
    assert_eq!(bytes, BOMB);
    assert!(largest <= curlew::proto::ws::INFLATE_CHUNK);
    eprintln!("ws connect-only: peak {:.2} MiB", peak as f64 / MIB as f64);
    assert!(
        peak < BOUND,
        "peak {peak} bytes for a 1 GiB inflated message"
    );
}

#[test]
fn ws_deflate_bomb_in_message_mode_stops_at_the_message_limit() {
    // Message mode must hold a whole message: ws_max_message_size (1 MiB here) bounds it, and
    // the bomb fails with 1009 long before its 1 GiB.
    let srv = ws_bomb_server(BOMB / MIB);
    let _measuring = measure();
    let mut e = ws_easy(&srv, WsSink::default());
    e.ws_message_mode(true).ws_max_message_size(MIB as u64);
    let (result, sink) = run_ws(e, &AtomicBool::new(false));
    let peak = peak_bytes();
    let err = result.expect_err("a message over the limit");
    assert_eq!(err.kind(), ErrorKind::WsProtocol, "{err}");
    assert!(err.to_string().contains("1009"), "{err}");
    assert!(!sink.too_big && sink.messages == 0);
    eprintln!("ws message mode: peak {:.2} MiB", peak as f64 / MIB as f64);
    assert!(peak < BOUND, "peak {peak} bytes");
}
