//! The `curlew` client of the WebSocket benchmark in `shared/bench` (its `RESULTS.md`, section
//! "Adding curlew's own client", has the contract):
//!
//! ```text
//! ws_bench_client --url ws://127.0.0.1:P/ --conns C --msgs M --size S [--window K] [--threads 1]
//!                 [--compress] [--payload bytes|json]
//! ```
//!
//! Two options beyond the contract, for the permessage-deflate figures
//! (`benches/RESULTS-deflate.md`):
//!
//! * `--compress`: offer permessage-deflate (RFC 7692) with the defaults
//!   ([`DeflateConfig::default`]: context takeover, 15-bit windows, every message compressed);
//! * `--payload json`: text messages of `S` bytes, JSON-like objects from a seeded generator
//!   (`benches/support/json_msgs.rs`), 256 different ones generated before the connect phase,
//!   each connection cycling through them from its own starting point. The default,
//!   `--payload bytes`, is one binary message of the bytes `i % 251`, the same every time.
//!
//! One [`Multi`], the callback model. Three phases, as in the peer clients:
//!
//! 1. **Connect** all `C` transfers behind a barrier: each [`Handler::ws_open`] counts itself
//!    in, and the last one records the "connected" snapshot and releases the barrier by sending
//!    the first `min(K, M)` binary messages on every connection (its own through [`Ctx::ws`],
//!    the others through [`Ctx::ws_of`]).
//! 2. **Messages**: the write callback adds up the chunks of the echo; when a whole message is
//!    back it checks its type and length and sends the next one, so `K` stay in flight. Nothing
//!    is allocated per message: the payload is one shared buffer and the library encodes (and
//!    masks) it into the connection's send queue.
//! 3. **Close**: the connection that finishes last records the "done" snapshot and sends a
//!    CLOSE 1000 on every connection; the phase ends when every transfer has completed its
//!    close handshake (reported by [`Multi::info_read`]).
//!
//! The shared state (a mutex) is touched once per connection per phase, never per message. It
//! prints the single result line of `shared/bench/common/src/lib.rs` (same fields, computed the
//! same way: `getrusage`, `/proc/self/statm`), plus `msg_allocs=` (heap allocations of the whole
//! process during the message phase, from a counting global allocator) and `lib=`, then
//! `payload=`, `compress=`, `wire_bytes_out=` (WebSocket bytes written by all connections up
//! to their last echo: frame headers and, compressed or not, payloads) and `wire_ratio=`
//! (`wire_bytes_out` / (`C` × `M` × `S`)). Any failure prints `client=curlew error: ...` to
//! stderr and exits 1.
//!
//! ```sh
//! cargo build --release --example ws_bench_client
//! CURLEW_CLIENT=target/release/examples/ws_bench_client ../shared/bench/run.sh
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "support/usage.rs"]
mod usage;
use curlew::proto::ws::deflate::compress_bound;
use curlew::proto::ws::{DeflateConfig, MAX_HEADER_LEN, MAX_SEND_QUEUE, MIN_SEND_QUEUE};
use curlew::ws::{BINARY, CLOSE, PONG, TEXT};
use curlew::{Ctx, Easy, Flow, Handler, Multi, TransferId};
use usage::{current_rss_kb, rusage, Usage};

/// Counts heap allocations, to show that the message phase allocates nothing.
struct CountingAlloc;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[allow(dead_code)]
#[path = "../benches/support/json_msgs.rs"]
mod json_msgs;

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn fail(msg: &str) -> ! {
    eprintln!("client=curlew error: {msg}");
    std::process::exit(1);
}

// ---------------------------------------------------------------------------------------------
// Command line (the peers' `bench_common::Args`).

struct Args {
    url: String,
    conns: usize,
    msgs: usize,
    size: usize,
    window: usize,
    threads: usize,
    /// Offer permessage-deflate.
    compress: bool,
    /// `--payload json`: varied JSON-like text messages.
    json: bool,
}

const USAGE: &str = "usage: --url ws://127.0.0.1:P/ --conns C --msgs M --size S [--window K] \
                     [--threads 1] [--compress] [--payload bytes|json]";

/// Different messages generated for `--payload json`.
const JSON_POOL: usize = 256;

fn usage(msg: &str) -> ! {
    eprintln!("error: {msg}");
    eprintln!("{USAGE}");
    std::process::exit(2);
}

fn num(s: &str) -> usize {
    s.parse()
        .unwrap_or_else(|_| usage(&format!("not a number: {s}")))
}

impl Args {
    fn parse() -> Args {
        let mut a = Args {
            url: String::new(),
            conns: 1,
            msgs: 1000,
            size: 16,
            window: 1,
            threads: 1,
            compress: false,
            json: false,
        };
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let mut i = 0;
        while i < argv.len() {
            let k = argv[i].as_str();
            if k == "-h" || k == "--help" {
                println!("{USAGE}");
                std::process::exit(0);
            }
            if k == "--compress" {
                a.compress = true;
                i += 1;
                continue;
            }
            let v = argv
                .get(i + 1)
                .unwrap_or_else(|| usage(&format!("missing value for {k}")));
            match k {
                "--url" => a.url = v.clone(),
                "--conns" => a.conns = num(v),
                "--msgs" => a.msgs = num(v),
                "--size" => a.size = num(v),
                "--window" => a.window = num(v),
                "--threads" => a.threads = num(v),
                "--payload" => match v.as_str() {
                    "bytes" => a.json = false,
                    "json" => a.json = true,
                    _ => usage(&format!("--payload: bytes or json, not {v}")),
                },
                _ => usage(&format!("unknown argument {k}")),
            }
            i += 2;
        }
        if a.url.is_empty() {
            usage("--url is required");
        }
        if a.conns == 0 || a.window == 0 {
            usage("--conns and --window must be >= 1");
        }
        if a.threads != 1 {
            usage("--threads: this client runs one Multi on one thread");
        }
        a
    }
}

/// Phase timestamps and resource snapshots (`bench_common::Meter`).
struct Meter {
    t_start: Instant,
    ru_start: Usage,
    t_connected: Option<Instant>,
    ru_connected: Usage,
    rss_idle_kb: i64,
    allocs_connected: u64,
    t_done: Option<Instant>,
    ru_done: Usage,
    allocs_done: u64,
    t_closed: Option<Instant>,
}

impl Meter {
    fn new() -> Meter {
        Meter {
            t_start: Instant::now(),
            ru_start: rusage(),
            t_connected: None,
            ru_connected: Usage::default(),
            rss_idle_kb: 0,
            allocs_connected: 0,
            t_done: None,
            ru_done: Usage::default(),
            allocs_done: 0,
            t_closed: None,
        }
    }

    /// All connections are upgraded; the message phase starts.
    fn connected(&mut self) {
        self.rss_idle_kb = current_rss_kb();
        self.ru_connected = rusage();
        self.allocs_connected = ALLOCS.load(Ordering::Relaxed);
        self.t_connected = Some(Instant::now());
    }

    /// Every message on every connection has been echoed.
    fn done(&mut self) {
        self.t_done = Some(Instant::now());
        self.allocs_done = ALLOCS.load(Ordering::Relaxed);
        self.ru_done = rusage();
    }

    fn report(&self, a: &Args, wire_out: u64) {
        let end = rusage();
        let tc = self.t_connected.unwrap_or_else(|| fail("never connected"));
        let td = self.t_done.unwrap_or_else(|| fail("never done"));
        let tx = self.t_closed.unwrap_or(td);
        let connect_s = (tc - self.t_start).as_secs_f64();
        let wall_s = (td - tc).as_secs_f64();
        let close_s = (tx - td).as_secs_f64();
        let total_msgs = (a.conns * a.msgs) as f64;
        let msg_user = self.ru_done.user_s - self.ru_connected.user_s;
        let msg_sys = self.ru_done.sys_s - self.ru_connected.sys_s;
        println!(
            "client=curlew conns={} msgs={} size={} window={} wall_s={:.6} msgs_per_s={:.1} \
             MB_per_s={:.3} user_s={:.6} sys_s={:.6} cpu_s_per_1M_msgs={:.4} max_rss_kb={} \
             connect_s={:.6} close_s={:.6} msg_user_s={:.6} msg_sys_s={:.6} rss_start_kb={} \
             rss_idle_kb={} threads={} msg_allocs={} lib=curlew/{} payload={} compress={} \
             wire_bytes_out={} wire_ratio={:.4}",
            a.conns,
            a.msgs,
            a.size,
            a.window,
            wall_s,
            total_msgs / wall_s,
            total_msgs * a.size as f64 / wall_s / 1e6,
            end.user_s,
            end.sys_s,
            (msg_user + msg_sys) / total_msgs * 1e6,
            end.max_rss_kb,
            connect_s,
            close_s,
            msg_user,
            msg_sys,
            self.ru_start.max_rss_kb,
            self.rss_idle_kb,
            a.threads,
            self.allocs_done - self.allocs_connected,
            env!("CARGO_PKG_VERSION"),
            if a.json { "json" } else { "bytes" },
            u8::from(a.compress),
            wire_out,
            wire_out as f64 / (total_msgs * a.size as f64),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The handler.

/// State shared by all connections; locked once per connection per phase.
struct Phases {
    meter: Meter,
    /// Every transfer, in the order added (known before the first `ws_open`).
    ids: Vec<TransferId>,
    opened: usize,
    finished: usize,
    /// WebSocket bytes written by the connections that finished their messages.
    wire_out: u64,
}

/// One connection's callbacks and counters.
struct Bench {
    shared: Arc<Mutex<Phases>>,
    /// The messages, shared by every connection (the library copies them, masked, into the
    /// connection's send queue): one, or `JSON_POOL` for `--payload json`.
    payloads: Arc<[Box<[u8]>]>,
    /// This connection's index (its starting point in `payloads`).
    index: usize,
    /// `TEXT` (json) or `BINARY`.
    kind: u32,
    size: usize,
    conns: usize,
    msgs: usize,
    /// Messages handed to the library (the barrier release sends the first `min(K, M)`).
    sent: usize,
    /// Whole messages echoed.
    recvd: usize,
    /// Bytes of the message being received.
    cur: usize,
}

/// The shared state; a panic elsewhere does not poison the numbers.
fn lock(m: &Mutex<Phases>) -> std::sync::MutexGuard<'_, Phases> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Message `k` of connection `conn`.
fn message(payloads: &[Box<[u8]>], conn: usize, k: usize) -> &[u8] {
    &payloads[(conn * 61 + k) % payloads.len()]
}

/// Sends one message; anything but the whole of it accepted is an error (the send queue is
/// sized for the window).
fn send_one(ws: Result<curlew::ws::WsHandle<'_>, curlew::ws::WsError>, payload: &[u8], kind: u32) {
    match ws.and_then(|mut ws| ws.send(payload, kind)) {
        Ok(n) if n == payload.len() => {}
        Ok(n) => fail(&format!(
            "send took {n} of {} bytes (send queue full)",
            payload.len()
        )),
        Err(e) => fail(&format!("send: {e}")),
    }
}

impl Handler for Bench {
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        let shared = self.shared.clone();
        let mut ph = lock(&shared);
        ph.opened += 1;
        if ph.opened < self.conns {
            return Flow::Continue;
        }
        // The last upgrade: release the barrier.
        ph.meter.connected();
        let first = self.sent;
        let me = ctx.id();
        for i in 0..ph.ids.len() {
            let id = ph.ids[i];
            for k in 0..first {
                let ws = if id == me { ctx.ws() } else { ctx.ws_of(id) };
                send_one(ws, message(&self.payloads, i, k), self.kind);
            }
        }
        if self.msgs == 0 {
            ph.meter.done();
            close_all(ctx, &ph.ids);
        }
        Flow::Continue
    }

    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let Some(meta) = ctx.ws_meta() else {
            fail("write callback without WebSocket metadata");
        };
        if meta.flags & self.kind == 0 {
            if meta.flags & PONG != 0 {
                return Flow::Continue;
            }
            if meta.flags & CLOSE != 0 && self.recvd == self.msgs {
                return Flow::Continue; // the server's answer to our CLOSE
            }
            fail(&format!(
                "unexpected frame flags {:#x} ({} of {} messages echoed)",
                meta.flags, self.recvd, self.msgs
            ));
        }
        self.cur += data.len();
        if !meta.is_message_end() {
            return Flow::Continue;
        }
        if self.cur != self.size {
            fail(&format!("echo of {} bytes, sent {}", self.cur, self.size));
        }
        self.cur = 0;
        self.recvd += 1;
        if self.sent < self.msgs {
            let m = message(&self.payloads, self.index, self.sent);
            self.sent += 1;
            send_one(ctx.ws(), m, self.kind);
        } else if self.recvd == self.msgs {
            let shared = self.shared.clone();
            let mut ph = lock(&shared);
            ph.finished += 1;
            ph.wire_out += ctx.info().size_upload;
            if ph.finished == self.conns {
                ph.meter.done();
                close_all(ctx, &ph.ids);
            }
        }
        Flow::Continue
    }
}

/// Starts the close handshake (1000) on every connection.
fn close_all(ctx: &mut Ctx<'_>, ids: &[TransferId]) {
    let me = ctx.id();
    for &id in ids {
        let ws = if id == me { ctx.ws() } else { ctx.ws_of(id) };
        if let Err(e) = ws.and_then(|mut ws| ws.close(1000, "")) {
            fail(&format!("close: {e}"));
        }
    }
}

fn main() {
    let a = Args::parse();
    let meter = Meter::new();
    if !(a.url.starts_with("ws://") || a.url.starts_with("wss://")) {
        usage(&format!("not a ws:// URL: {}", a.url));
    }
    let payloads: Arc<[Box<[u8]>]> = if a.json {
        json_msgs::json_messages(1, JSON_POOL, a.size)
            .into_iter()
            .map(Vec::into_boxed_slice)
            .collect()
    } else {
        let bytes: Box<[u8]> = (0..a.size).map(|i| (i % 251) as u8).collect();
        Arc::new([bytes])
    };
    let kind = if a.json { TEXT } else { BINARY };
    let first = a.window.min(a.msgs);
    // Room for a whole window of frames, so a send never comes back short (a compressed send
    // needs room for the worst case of its compressed size).
    let frame = if a.compress {
        compress_bound(a.size)
    } else {
        a.size
    } + MAX_HEADER_LEN;
    let queue = MAX_SEND_QUEUE.max(first * frame + MIN_SEND_QUEUE);
    let shared = Arc::new(Mutex::new(Phases {
        meter,
        ids: Vec::with_capacity(a.conns),
        opened: 0,
        finished: 0,
        wire_out: 0,
    }));
    let mut multi = Multi::new();
    {
        let mut ph = lock(&shared);
        for index in 0..a.conns {
            let handler = Bench {
                shared: shared.clone(),
                payloads: payloads.clone(),
                index,
                kind,
                size: a.size,
                conns: a.conns,
                msgs: a.msgs,
                sent: first,
                recvd: 0,
                cur: 0,
            };
            let mut easy = Easy::with_handler(&a.url, handler)
                .unwrap_or_else(|e| fail(&format!("{}: {e}", a.url)));
            easy.ws_max_send_queue(queue);
            if a.compress {
                easy.ws_compress(Some(DeflateConfig::default()))
                    .unwrap_or_else(|e| fail(&format!("ws_compress: {e}")));
            }
            ph.ids.push(multi.add(easy));
        }
    }
    let mut completed = 0;
    while completed < a.conns {
        multi
            .poll(Some(Duration::from_secs(1)))
            .unwrap_or_else(|e| fail(&format!("poll: {e}")));
        while let Some(msg) = multi.info_read() {
            if let Err(e) = msg.result {
                let ph = lock(&shared);
                fail(&format!(
                    "transfer failed: {e} ({} of {} upgraded, {} finished)",
                    ph.opened, a.conns, ph.finished
                ));
            }
            completed += 1;
        }
    }
    let mut ph = lock(&shared);
    if ph.finished != a.conns && a.msgs > 0 {
        fail("transfers ended before every message was echoed");
    }
    ph.meter.t_closed = Some(Instant::now());
    ph.meter.report(&a, ph.wire_out);
}
