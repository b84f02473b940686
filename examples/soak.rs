//! Soak test: many WebSocket transfers on ONE [`Multi`] for a long time, every message checked.
//!
//! ```text
//! cargo run --release --example soak -- --duration 600
//! ```
//!
//! The example starts its own loopback echo server on a thread of its own (a small mio loop
//! with curlew's sans-IO [`Decoder`] in the server role: it unmasks what the client sends and
//! echoes it back, re-fragmented at whatever chunk boundaries its reads produced, with the same
//! message type). Then one [`Multi`] runs `--conns` WebSocket transfers in the callback model
//! for `--duration` seconds. Each connection keeps `--in-flight` messages in flight:
//!
//! * **size**: log-uniform in `0..=--max-size` (most messages are small, large ones occur;
//!   0 bytes and the maximum now and then);
//! * **type**: text (valid UTF-8 with 1- to 4-byte characters; fragment boundaries may cut a
//!   character) or binary, random content;
//! * **fragmentation**: one frame, 2 to 8 frames (`CONT`, empty fragments possible), or 1 to 4
//!   frames written piecewise through [`WsHandle::start_frame`] or [`WsHandle::send_offset`].
//!   A send the queue takes only in part is finished from [`Handler::ws_writable`] (every
//!   fifth connection has a 24 KiB send queue, so that happens all the time);
//! * **header**: a message of 48 bytes or more starts with connection id, sequence number,
//!   length and a 64-bit checksum of the rest (ASCII hex, so text stays text). The receiver
//!   detects a lost message (sequence gap), a duplicate (sequence repeated) and a corrupted
//!   one (length, type or checksum mismatch). Every message, short ones too, is also checked
//!   against the sender's record (length, type, checksum) in order.
//!
//! Three connections in four receive chunks through [`Handler::write`] (the checksum is
//! streamed, the `offset`/`bytesleft` metadata checked, nothing buffered); every fourth uses
//! message mode ([`Handler::ws_message`]). Messages over 4 KiB need a share of a global
//! in-flight byte budget (`--inflight-bytes`); connections queue for it in order.
//!
//! One line every `--report` seconds: elapsed time, messages and bytes sent and received,
//! lost/duplicated/corrupted, open connections, connections waiting for budget, the budget in
//! use, RSS (of the whole process: client and server; with `--server-process` the client's,
//! and the server's in its own column). At the end every connection is closed with 1000 and every transfer
//! must complete cleanly; then a summary with RSS at start, after warm-up, at the end and the
//! maximum. Exit code 1 if any message was lost, duplicated or corrupted, any transfer failed
//! or the close did not finish, or RSS grew more than 10% from the end of the warm-up to the
//! end of the run.
//!
//! Flags (defaults in brackets): `--conns` [10000], `--duration` seconds [600], `--warmup`
//! seconds [30], `--seed` [1], `--max-size` bytes [262144], `--in-flight` messages per
//! connection [1], `--inflight-bytes` [67108864], `--report` seconds [10], `--server-process`
//! (run the echo server in a child process of this example instead of a thread).
//!
//! Client and server share the process, so it needs about two file descriptors per
//! connection; it checks the soft `RLIMIT_NOFILE` (`/proc/self/limits`) first and says how
//! many connections fit if the limit is too low. With a limit of 20,000 open files, run the
//! 10,000 connections with the server in a child process (each process then needs ~10,000):
//!
//! ```text
//! cargo run --release --example soak -- --duration 600 --server-process
//! ```

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::raw::{c_int, c_long};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use curlew::proto::ws::{
    expected_accept, Chunk, Decoder, DecoderConfig, FrameHeader, OpCode, MAX_HEADER_LEN,
};
use curlew::ws::{WsError, WsFrame, WsHandle, BINARY, CLOSE, CONT, PING, PONG, TEXT};
use curlew::{Ctx, Easy, Error, Flow, Handler, Multi, TransferId};

// ---------------------------------------------------------------------------------------------
// Command line.

#[derive(Clone, Debug)]
struct Args {
    conns: usize,
    duration: u64,
    warmup: u64,
    seed: u64,
    max_size: usize,
    in_flight: usize,
    inflight_bytes: u64,
    report: u64,
    server_process: bool,
    /// Internal: run only the echo server (the child of `--server-process`).
    serve: bool,
}

const USAGE: &str = "\
usage: soak [--conns N] [--duration S] [--warmup S] [--seed N] [--max-size B]
            [--in-flight K] [--inflight-bytes B] [--report S]

  --conns N           WebSocket transfers on the one Multi [10000]
  --duration S        run time in seconds, warm-up included [600]
  --warmup S          seconds before the memory baseline is taken [30]
  --seed N            seed of sizes, types, fragmentation and content [1]
  --max-size B        largest message in bytes [262144]
  --in-flight K       messages in flight per connection [1]
  --inflight-bytes B  budget of bytes in flight in messages over 4 KiB [67108864]
  --report S          seconds between report lines [10]
  --server-process    run the echo server in a child process (one fd per connection
                      here instead of two; RSS is then the client's alone)

Runs a loopback echo server in-process; exits 1 on any lost, duplicated or corrupted
message, a failed transfer, or RSS growth over 10% after the warm-up.";

fn usage(msg: &str) -> ! {
    eprintln!("soak: {msg}");
    eprintln!("{USAGE}");
    std::process::exit(2);
}

impl Args {
    fn parse() -> Args {
        let mut a = Args {
            conns: 10_000,
            duration: 600,
            warmup: 30,
            seed: 1,
            max_size: 256 * 1024,
            in_flight: 1,
            inflight_bytes: 64 << 20,
            report: 10,
            server_process: false,
            serve: false,
        };
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let mut i = 0;
        while i < argv.len() {
            let k = argv[i].as_str();
            if k == "-h" || k == "--help" {
                println!("{USAGE}");
                std::process::exit(0);
            }
            if k == "--server-process" {
                a.server_process = true;
                i += 1;
                continue;
            }
            let v = argv
                .get(i + 1)
                .unwrap_or_else(|| usage(&format!("missing value for {k}")));
            let n: u64 = v
                .parse()
                .unwrap_or_else(|_| usage(&format!("{k}: not a number: {v}")));
            match k {
                "--conns" => a.conns = n as usize,
                "--duration" => a.duration = n,
                "--warmup" => a.warmup = n,
                "--seed" => a.seed = n,
                "--max-size" => a.max_size = n as usize,
                "--in-flight" => a.in_flight = n as usize,
                "--inflight-bytes" => a.inflight_bytes = n,
                "--report" => a.report = n,
                "--serve" => {
                    a.serve = true;
                    a.max_size = n as usize;
                }
                _ => usage(&format!("unknown argument {k}")),
            }
            i += 2;
        }
        if a.conns == 0 || a.in_flight == 0 || a.report == 0 {
            usage("--conns, --in-flight and --report must be >= 1");
        }
        if a.max_size > u32::MAX as usize / 2 {
            usage("--max-size too large");
        }
        if a.warmup >= a.duration && !a.serve {
            usage("--warmup must be shorter than --duration");
        }
        a
    }
}

/// Fails fast when the open-files limit cannot hold client and server sockets.
fn check_fd_limit(conns: usize, server_process: bool) {
    const SLACK: usize = 64;
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    let Some(soft) = soft else {
        return; // unlimited or unknown
    };
    let per_conn = if server_process { 1 } else { 2 };
    let need = per_conn * conns + SLACK;
    if need > soft {
        if server_process {
            eprintln!(
                "soak: {conns} connections need about {need} file descriptors (plus {SLACK} \
                 spare), but the open-files limit is {soft}.\n\
                 Lower --conns to at most {} or raise the limit (`ulimit -n {need}`).",
                soft.saturating_sub(SLACK)
            );
        } else {
            eprintln!(
                "soak: {conns} connections need about {need} file descriptors (client and \
                 server sockets in one process, plus {SLACK} spare), but the open-files limit \
                 is {soft}.\n\
                 Lower --conns to at most {}, raise the limit (`ulimit -n {need}`), or add \
                 --server-process (the server then has its own limit).",
                soft.saturating_sub(SLACK) / 2
            );
        }
        std::process::exit(2);
    }
}

// ---------------------------------------------------------------------------------------------
// RSS (no libc crate: the one libc function is declared here; std links libc anyway).

extern "C" {
    fn sysconf(name: c_int) -> c_long;
}

/// `_SC_PAGESIZE` on Linux.
const SC_PAGESIZE: c_int = 30;
/// `_SC_CLK_TCK` on Linux.
const SC_CLK_TCK: c_int = 2;

/// User and system CPU seconds of a process, from its `/proc/<pid>/stat`.
fn cpu_s_of(stat: &str) -> (f64, f64) {
    let s = std::fs::read_to_string(stat).unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces):
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the ')'.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let mut f = rest.split_whitespace().skip(11);
    let ticks = |x: Option<&str>| x.and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let (u, k) = (ticks(f.next()), ticks(f.next()));
    // SAFETY: sysconf has no memory-safety preconditions; it only reads a constant.
    let hz = unsafe { sysconf(SC_CLK_TCK) }.max(1) as f64;
    (u / hz, k / hz)
}

/// Current resident set size in KiB (from /proc/self/statm).
fn rss_kb() -> u64 {
    rss_kb_of("/proc/self/statm")
}

/// Resident set size in KiB from a `statm` file.
fn rss_kb_of(statm: &str) -> u64 {
    let s = std::fs::read_to_string(statm).unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no memory-safety preconditions; it only reads a constant.
    let page = unsafe { sysconf(SC_PAGESIZE) }.max(1) as u64;
    pages * page / 1024
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

// ---------------------------------------------------------------------------------------------
// Randomness and checksums (no crates).

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// xorshift64*.
#[derive(Clone, Copy, Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(splitmix(seed) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A streaming 64-bit checksum: FNV-style over little-endian 64-bit words (each step a
/// bijection of the state, so any single changed word changes the result), then the length
/// and a final avalanche.
#[derive(Clone, Copy, Debug)]
struct Sum {
    h: u64,
    tail: u64,
    tail_len: u32,
    total: u64,
}

impl Sum {
    const fn new() -> Sum {
        Sum {
            h: 0xcbf2_9ce4_8422_2325,
            tail: 0,
            tail_len: 0,
            total: 0,
        }
    }
    fn mix(h: u64, w: u64) -> u64 {
        (h ^ w).wrapping_mul(0x0000_0100_0000_01b3).rotate_left(23)
    }
    fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        while self.tail_len > 0 && !data.is_empty() {
            self.tail |= u64::from(data[0]) << (8 * self.tail_len);
            self.tail_len += 1;
            data = &data[1..];
            if self.tail_len == 8 {
                self.h = Self::mix(self.h, self.tail);
                self.tail = 0;
                self.tail_len = 0;
            }
        }
        let mut words = data.chunks_exact(8);
        for w in &mut words {
            let w = u64::from_le_bytes(w.try_into().expect("8 bytes"));
            self.h = Self::mix(self.h, w);
        }
        for &b in words.remainder() {
            self.tail |= u64::from(b) << (8 * self.tail_len);
            self.tail_len += 1;
        }
    }
    fn finish(&self) -> u64 {
        let mut h = self.h;
        if self.tail_len > 0 {
            h = Self::mix(h, self.tail);
        }
        splitmix(Self::mix(h, self.total))
    }
    fn of(data: &[u8]) -> u64 {
        let mut s = Sum::new();
        s.update(data);
        s.finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Messages.

/// Messages of at least this many bytes carry the header
/// `conn(8 hex) seq(16 hex) len(8 hex) checksum(16 hex)`.
const HDR: usize = 48;
/// Messages above this size need a share of the in-flight byte budget.
const SMALL: usize = 4096;
/// The send queue bound of every fifth connection (the others keep the default).
const SMALL_QUEUE: usize = 24 * 1024;

/// How a message is handed to the library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    /// `send` per frame (one frame, or 2..=8 frames with `CONT`).
    Send,
    /// `start_frame`, then `send` pieces of at most `sub` bytes.
    StartFrame,
    /// `send_offset` pieces of at most `sub` bytes, the first announcing the frame length.
    Offset,
}

/// One message, decided before it is sent; its content is regenerated from `gen_seed` when
/// needed, so an idle connection holds no payload.
#[derive(Clone, Copy, Debug)]
struct Plan {
    seq: u64,
    len: usize,
    text: bool,
    gen_seed: u64,
    method: Method,
    nframes: usize,
    /// End offset of each frame; `ends[nframes - 1] == len`.
    ends: [usize; 8],
    sub: usize,
}

impl Plan {
    fn ty(&self) -> u32 {
        if self.text {
            TEXT
        } else {
            BINARY
        }
    }
    fn big(&self) -> bool {
        self.len > SMALL
    }
}

/// Log-uniform in `0..=max`, with 0 and `max` themselves now and then.
fn pick_size(r: &mut Rng, max: usize) -> usize {
    match r.below(200) {
        0 => return 0,
        1 => return max,
        _ => {}
    }
    let s = ((max as f64 + 1.0).ln() * r.unit()).exp() - 1.0;
    (s as usize).min(max)
}

fn make_plan(r: &mut Rng, max: usize, seq: u64) -> Plan {
    let len = pick_size(r, max);
    let text = r.below(2) == 0;
    let gen_seed = r.next();
    let m = r.below(100);
    let (method, nframes) = if m < 40 {
        (Method::Send, 1)
    } else if m < 70 {
        (Method::Send, 2 + r.below(7) as usize)
    } else if m < 85 {
        (Method::StartFrame, 1 + r.below(4) as usize)
    } else {
        (Method::Offset, 1 + r.below(4) as usize)
    };
    let mut ends = [len; 8];
    for e in ends.iter_mut().take(nframes - 1) {
        *e = r.below(len as u64 + 1) as usize;
    }
    ends[..nframes].sort_unstable();
    let sub = (len / (1 + r.below(4) as usize)).max(1);
    Plan {
        seq,
        len,
        text,
        gen_seed,
        method,
        nframes,
        ends,
        sub,
    }
}

fn put_hex(out: &mut [u8], v: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let n = out.len();
    for (i, b) in out.iter_mut().enumerate() {
        *b = DIGITS[((v >> (4 * (n - 1 - i))) & 0xf) as usize];
    }
}

fn get_hex(s: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for &b in s {
        let d = (b as char).to_digit(16)?;
        v = (v << 4) | u64::from(d);
    }
    Some(v)
}

/// Random printable ASCII with multi-byte characters (2, 3 and 4 bytes) mixed in.
fn fill_text(out: &mut [u8], r: &mut Rng) {
    let mut i = 0;
    while i < out.len() {
        let x = r.next();
        if x & 3 == 0 {
            let v = (x >> 8) as u32;
            let cp = match (x >> 2) & 3 {
                0 | 1 => 0x80 + v % (0x800 - 0x80),
                2 => {
                    let c = 0x800 + v % (0x1_0000 - 0x800);
                    if (0xd800..0xe000).contains(&c) {
                        c + 0x800
                    } else {
                        c
                    }
                }
                _ => 0x1_0000 + v % (0x11_0000 - 0x1_0000),
            };
            let c = char::from_u32(cp).unwrap_or('?');
            if i + c.len_utf8() <= out.len() {
                i += c.encode_utf8(&mut out[i..]).len();
                continue;
            }
        }
        for k in 0..7 {
            if i == out.len() {
                break;
            }
            out[i] = 0x20 + ((x >> (8 * k + 1)) & 0x3f) as u8;
            i += 1;
        }
    }
}

fn fill_binary(out: &mut [u8], r: &mut Rng) {
    let mut words = out.chunks_exact_mut(8);
    for w in &mut words {
        w.copy_from_slice(&r.next().to_le_bytes());
    }
    let rest = words.into_remainder();
    let x = r.next().to_le_bytes();
    let n = rest.len();
    rest.copy_from_slice(&x[..n]);
}

/// Writes the message of `conn` described by `p` into `buf`; returns its checksum (of the
/// bytes after the header, or of the whole message when it is too short for one).
fn generate(buf: &mut Vec<u8>, conn: usize, p: &Plan) -> u64 {
    buf.clear();
    buf.resize(p.len, 0);
    let mut r = Rng::new(p.gen_seed);
    let body = if p.len >= HDR { HDR } else { 0 };
    if p.text {
        fill_text(&mut buf[body..], &mut r);
    } else {
        fill_binary(&mut buf[body..], &mut r);
    }
    let sum = Sum::of(&buf[body..]);
    if body > 0 {
        put_hex(&mut buf[0..8], conn as u64);
        put_hex(&mut buf[8..24], p.seq);
        put_hex(&mut buf[24..32], p.len as u64);
        put_hex(&mut buf[32..48], sum);
    }
    sum
}

// ---------------------------------------------------------------------------------------------
// Client state: everything lives in one `World` behind a mutex (one thread takes it, once per
// callback), so any callback can drive any connection (the budget queue needs that).

/// What the sender remembers of a message in flight.
#[derive(Clone, Copy, Debug)]
struct Record {
    seq: u64,
    len: usize,
    ty: u32,
    sum: u64,
}

/// A message being handed to the library.
#[derive(Clone, Copy, Debug)]
struct Outgoing {
    plan: Plan,
    frame: usize,
    pos: usize,
    started: bool,
}

/// The message being received in chunks.
#[derive(Clone, Copy, Debug)]
struct Rx {
    active: bool,
    ty: u32,
    len: u64,
    frame_pos: u64,
    hdr: [u8; HDR],
    sum: Sum,
}

impl Rx {
    const fn new() -> Rx {
        Rx {
            active: false,
            ty: 0,
            len: 0,
            frame_pos: 0,
            hdr: [0; HDR],
            sum: Sum::new(),
        }
    }
}

struct Conn {
    rng: Rng,
    opened: bool,
    next_seq: u64,
    expect: u64,
    records: VecDeque<Record>,
    out: Option<Outgoing>,
    /// A large message waiting for budget.
    planned: Option<Plan>,
    waiting: bool,
    close_sent: bool,
    done: bool,
    rx: Rx,
}

#[derive(Default, Debug, Clone, Copy)]
struct Stats {
    sent: u64,
    recv: u64,
    bytes_sent: u64,
    bytes_recv: u64,
    lost: u64,
    dup: u64,
    corrupt: u64,
    /// Metadata that does not add up (offset, type change, unexpected control frame).
    meta_errors: u64,
    opened: u64,
    done_ok: u64,
    failed: u64,
    send_errors: u64,
    blocked: u64,
    budget_waits: u64,
    text: u64,
    fragmented: u64,
    via_start_frame: u64,
    via_offset: u64,
    empty: u64,
    max_len: u64,
}

struct World {
    max_size: usize,
    in_flight: usize,
    budget: u64,
    budget_used: u64,
    ids: Vec<TransferId>,
    conns: Vec<Conn>,
    waiters: VecDeque<usize>,
    /// The payload being sent (regenerated when another message needs it).
    scratch: Vec<u8>,
    scratch_of: Option<(usize, u64)>,
    stopping: bool,
    st: Stats,
    errors: Vec<String>,
}

fn lock(m: &Mutex<World>) -> MutexGuard<'_, World> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl World {
    fn error(&mut self, msg: String) {
        if self.errors.len() < 20 {
            eprintln!("soak: {msg}");
            self.errors.push(msg);
        }
    }

    fn idle(&self, i: usize) -> bool {
        let c = &self.conns[i];
        c.records.is_empty() && c.out.is_none()
    }

    /// Sends on connection `i` as long as it has room in its window (and budget).
    /// `woken`: `i` was taken from the budget queue.
    fn pump(&mut self, i: usize, ws: &mut WsHandle<'_>, woken: bool) {
        loop {
            if self.conns[i].out.is_some() {
                match self.send_out(i, ws) {
                    Ok(true) => {}
                    Ok(false) => return, // blocked: ws_writable resumes
                    Err(e) => {
                        self.st.send_errors += 1;
                        self.error(format!("conn {i}: send: {e}"));
                        return;
                    }
                }
            }
            let c = &self.conns[i];
            if self.stopping || c.close_sent || c.records.len() >= self.in_flight {
                return;
            }
            if c.waiting && !woken {
                return;
            }
            let plan = match self.conns[i].planned.take() {
                Some(p) => p,
                None => {
                    let seq = self.conns[i].next_seq;
                    make_plan(&mut self.conns[i].rng, self.max_size, seq)
                }
            };
            if plan.big() {
                let fits =
                    self.budget_used == 0 || self.budget_used + plan.len as u64 <= self.budget;
                let queued_ahead = !self.waiters.is_empty() && !woken;
                if !fits || queued_ahead {
                    let c = &mut self.conns[i];
                    c.planned = Some(plan);
                    if !c.waiting {
                        c.waiting = true;
                        self.waiters.push_back(i);
                        self.st.budget_waits += 1;
                    }
                    return;
                }
                self.budget_used += plan.len as u64;
            }
            self.conns[i].waiting = false;
            let sum = generate(&mut self.scratch, i, &plan);
            self.scratch_of = Some((i, plan.seq));
            let c = &mut self.conns[i];
            c.next_seq += 1;
            c.records.push_back(Record {
                seq: plan.seq,
                len: plan.len,
                ty: plan.ty(),
                sum,
            });
            c.out = Some(Outgoing {
                plan,
                frame: 0,
                pos: 0,
                started: false,
            });
            let st = &mut self.st;
            st.text += u64::from(plan.text);
            st.fragmented += u64::from(plan.nframes > 1);
            st.via_start_frame += u64::from(plan.method == Method::StartFrame);
            st.via_offset += u64::from(plan.method == Method::Offset);
            st.empty += u64::from(plan.len == 0);
            st.max_len = st.max_len.max(plan.len as u64);
        }
    }

    /// Hands the current message of `i` to the library: `Ok(true)` when all of it is queued,
    /// `Ok(false)` when the send queue is full.
    fn send_out(&mut self, i: usize, ws: &mut WsHandle<'_>) -> Result<bool, WsError> {
        let mut o = self.conns[i].out.expect("a message to send");
        let p = o.plan;
        if self.scratch_of != Some((i, p.seq)) {
            generate(&mut self.scratch, i, &p);
            self.scratch_of = Some((i, p.seq));
        }
        let buf = &self.scratch;
        let r = loop {
            if o.frame == p.nframes {
                break Ok(true);
            }
            let fs = if o.frame == 0 { 0 } else { p.ends[o.frame - 1] };
            let fe = p.ends[o.frame];
            let flags = p.ty() | if o.frame + 1 < p.nframes { CONT } else { 0 };
            let sent = match p.method {
                Method::Send => ws.send(&buf[o.pos..fe], flags),
                Method::StartFrame if !o.started => {
                    ws.start_frame(flags, (fe - fs) as u64).map(|()| 0)
                }
                Method::StartFrame => ws.send(&buf[o.pos..fe.min(o.pos + p.sub)], 0),
                Method::Offset => {
                    let total = if o.started { 0 } else { (fe - fs) as u64 };
                    ws.send_offset(&buf[o.pos..fe.min(o.pos + p.sub)], total, flags)
                }
            };
            match sent {
                Ok(n) => {
                    o.pos += n;
                    o.started = true;
                    if o.pos == fe {
                        o.frame += 1;
                        o.started = false;
                    }
                }
                Err(WsError::WouldBlock) => break Ok(false),
                Err(e) => break Err(e),
            }
        };
        match r {
            Ok(true) => {
                self.conns[i].out = None;
                self.st.sent += 1;
                self.st.bytes_sent += p.len as u64;
            }
            Ok(false) => {
                self.conns[i].out = Some(o);
                self.st.blocked += 1;
            }
            Err(_) => self.conns[i].out = None,
        }
        r
    }

    /// A whole echoed message: `head` holds its first (up to) 48 bytes, `sum` the checksum of
    /// the rest (or of all of it when shorter than the header).
    fn complete(&mut self, i: usize, ty: u32, len: u64, head: &[u8], sum: u64) {
        self.st.bytes_recv += len;
        let len = len as usize;
        let c = &mut self.conns[i];
        let mut released = 0u64;
        let mut lost = 0u64;
        let mut ok = false;
        let mut dup = false;
        let mut what = String::new();
        if len >= HDR {
            let h = (
                get_hex(&head[0..8]),
                get_hex(&head[8..24]),
                get_hex(&head[24..32]),
                get_hex(&head[32..48]),
            );
            if let (Some(conn), Some(seq), Some(hlen), Some(hsum)) = h {
                if conn != i as u64 {
                    what = format!("header names connection {conn}");
                } else if seq < c.expect {
                    dup = true;
                    what = format!("sequence {seq} again (expected {})", c.expect);
                } else {
                    while c.expect < seq {
                        if let Some(r) = c.records.pop_front() {
                            released += if r.len > SMALL { r.len as u64 } else { 0 };
                        }
                        c.expect += 1;
                        lost += 1;
                    }
                    ok = hlen as usize == len && hsum == sum;
                    if !ok {
                        what = format!(
                            "seq {seq}: header len {hlen} sum {hsum:x}, got len {len} sum {sum:x}"
                        );
                    }
                }
            } else {
                what = "header is not hex".into();
            }
        }
        if !dup {
            match c.records.pop_front() {
                Some(r) => {
                    released += if r.len > SMALL { r.len as u64 } else { 0 };
                    let matches = r.seq == c.expect && r.len == len && r.ty == ty && r.sum == sum;
                    if len < HDR {
                        ok = matches;
                    } else if ok && !matches {
                        ok = false;
                    }
                    if !ok && what.is_empty() {
                        what = format!(
                            "seq {}: sent len {} type {} sum {:x}, got len {len} type {ty} sum {sum:x}",
                            r.seq, r.len, r.ty, r.sum
                        );
                    }
                    c.expect += 1;
                }
                None => {
                    dup = true;
                    what = "a message with nothing in flight".into();
                }
            }
        }
        self.budget_used -= released;
        self.st.lost += lost;
        if lost > 0 {
            self.error(format!("conn {i}: {lost} message(s) lost"));
        }
        if dup {
            self.st.dup += 1;
            self.error(format!("conn {i}: duplicate: {what}"));
        } else {
            self.st.recv += 1;
            if !ok {
                self.st.corrupt += 1;
                self.error(format!("conn {i}: corrupted: {what}"));
            }
        }
    }

    /// After an echo: refill this connection's window, wake budget waiters, close when done.
    fn after_echo(&mut self, i: usize, ctx: &mut Ctx<'_>) {
        if let Ok(mut ws) = ctx.ws() {
            self.pump(i, &mut ws, false);
        }
        self.wake_waiters(ctx);
        if self.stopping && self.idle(i) {
            if let Ok(mut ws) = ctx.ws() {
                self.close(i, &mut ws);
            }
        }
    }

    fn wake_waiters(&mut self, ctx: &mut Ctx<'_>) {
        while let Some(&j) = self.waiters.front() {
            let c = &self.conns[j];
            if !c.waiting || c.done || self.stopping {
                self.conns[j].waiting = false;
                self.waiters.pop_front();
                continue;
            }
            let need = c.planned.map_or(0, |p| p.len as u64);
            if self.budget_used != 0 && self.budget_used + need > self.budget {
                return;
            }
            self.waiters.pop_front();
            match ctx.ws_of(self.ids[j]) {
                Ok(mut ws) => self.pump(j, &mut ws, true),
                Err(e) => {
                    self.conns[j].waiting = false;
                    self.error(format!("conn {j}: ws_of: {e}"));
                }
            }
        }
    }

    fn close(&mut self, i: usize, ws: &mut WsHandle<'_>) {
        let c = &mut self.conns[i];
        if c.close_sent {
            return;
        }
        c.close_sent = true;
        c.planned = None;
        c.waiting = false;
        if let Err(e) = ws.close(1000, "soak done") {
            self.error(format!("conn {i}: close: {e}"));
        }
    }

    fn control(&mut self, i: usize, flags: u32) {
        if flags & CLOSE != 0 && !self.conns[i].close_sent {
            self.st.meta_errors += 1;
            self.error(format!("conn {i}: the server closed first"));
        } else if flags & (CLOSE | PING | PONG) == 0 {
            self.st.meta_errors += 1;
            self.error(format!("conn {i}: unexpected flags {flags:#x}"));
        }
    }

    fn chunk(
        &mut self,
        i: usize,
        meta: WsFrame,
        data: &[u8],
    ) -> Option<(u32, u64, [u8; HDR], u64)> {
        let ty = meta.flags & (TEXT | BINARY);
        let rx = &mut self.conns[i].rx;
        let mut bad = Vec::new();
        if !rx.active {
            *rx = Rx::new();
            rx.active = true;
            rx.ty = ty;
        } else if rx.ty != ty {
            bad.push(format!("type {ty} inside a message of type {}", rx.ty));
        }
        if meta.offset != rx.frame_pos {
            bad.push(format!(
                "offset {} where {} was expected",
                meta.offset, rx.frame_pos
            ));
        }
        if meta.len != data.len() {
            bad.push(format!("len {} for {} bytes", meta.len, data.len()));
        }
        rx.frame_pos = if meta.bytesleft == 0 {
            0
        } else {
            meta.offset + data.len() as u64
        };
        let have = (rx.len as usize).min(HDR);
        let take = (HDR - have).min(data.len());
        rx.hdr[have..have + take].copy_from_slice(&data[..take]);
        rx.sum.update(&data[take..]);
        rx.len += data.len() as u64;
        let end = meta.is_message_end().then(|| {
            rx.active = false;
            let sum = if rx.len < HDR as u64 {
                Sum::of(&rx.hdr[..rx.len as usize])
            } else {
                rx.sum.finish()
            };
            (rx.ty, rx.len, rx.hdr, sum)
        });
        for b in bad {
            self.st.meta_errors += 1;
            self.error(format!("conn {i}: chunk metadata: {b}"));
        }
        end
    }
}

/// One connection's callbacks.
struct SoakConn {
    idx: usize,
    world: Arc<Mutex<World>>,
}

impl Handler for SoakConn {
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        let world = self.world.clone();
        let mut w = lock(&world);
        let i = self.idx;
        w.conns[i].opened = true;
        w.st.opened += 1;
        let Ok(mut ws) = ctx.ws() else {
            w.error(format!("conn {i}: no WebSocket after the upgrade"));
            return Flow::Abort;
        };
        if w.stopping {
            w.close(i, &mut ws);
        } else {
            w.pump(i, &mut ws, false);
        }
        Flow::Continue
    }

    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let world = self.world.clone();
        let mut w = lock(&world);
        let i = self.idx;
        let Some(meta) = ctx.ws_meta() else {
            w.error(format!(
                "conn {i}: write callback without WebSocket metadata"
            ));
            return Flow::Abort;
        };
        if meta.flags & (TEXT | BINARY) == 0 {
            w.control(i, meta.flags);
            return Flow::Continue;
        }
        if let Some((ty, len, head, sum)) = w.chunk(i, meta, data) {
            let n = (len as usize).min(HDR);
            w.complete(i, ty, len, &head[..n], sum);
            w.after_echo(i, ctx);
        }
        Flow::Continue
    }

    fn ws_message(&mut self, ctx: &mut Ctx<'_>, msg: &[u8], frame: WsFrame) -> Flow {
        let world = self.world.clone();
        let mut w = lock(&world);
        let i = self.idx;
        let ty = frame.flags & (TEXT | BINARY);
        if ty == 0 {
            w.control(i, frame.flags);
            return Flow::Continue;
        }
        if frame.flags & CONT != 0 || frame.len != msg.len() {
            w.st.meta_errors += 1;
            w.error(format!(
                "conn {i}: message mode: {frame:?} for {} bytes",
                msg.len()
            ));
        }
        let (head, sum) = if msg.len() >= HDR {
            (&msg[..HDR], Sum::of(&msg[HDR..]))
        } else {
            (msg, Sum::of(msg))
        };
        w.complete(i, ty, msg.len() as u64, head, sum);
        w.after_echo(i, ctx);
        Flow::Continue
    }

    fn ws_writable(&mut self, ctx: &mut Ctx<'_>) {
        let world = self.world.clone();
        let mut w = lock(&world);
        let i = self.idx;
        if let Ok(mut ws) = ctx.ws() {
            w.pump(i, &mut ws, false);
            if w.stopping && w.idle(i) {
                w.close(i, &mut ws);
            }
        }
    }

    fn done(&mut self, _ctx: &mut Ctx<'_>, result: &Result<(), Error>) {
        let world = self.world.clone();
        let mut w = lock(&world);
        let i = self.idx;
        w.conns[i].done = true;
        match result {
            Ok(()) if w.conns[i].close_sent => w.st.done_ok += 1,
            Ok(()) => {
                w.st.failed += 1;
                w.error(format!("conn {i}: ended before it was closed"));
            }
            Err(e) => {
                w.st.failed += 1;
                w.error(format!("conn {i}: transfer failed: {e}"));
            }
        }
        let c = &mut w.conns[i];
        let orphans: u64 = c
            .records
            .drain(..)
            .map(|r| if r.len > SMALL { r.len as u64 } else { 0 })
            .sum();
        w.budget_used -= orphans;
    }
}

// ---------------------------------------------------------------------------------------------
// The echo server: one thread, mio, curlew's decoder in the server role (masked frames
// allowed). Each decoded chunk goes back at once as one unmasked frame, so the echo's
// fragmentation follows the server's reads. Per connection it keeps a few hundred bytes when
// idle; output beyond `OUT_HIGH` stops reading until the client has taken it.

#[derive(Default)]
struct ServerStats {
    accepted: AtomicU64,
    messages: AtomicU64,
    frames_out: AtomicU64,
    errors: AtomicU64,
}

struct Peer {
    stream: mio::net::TcpStream,
    upgraded: bool,
    /// Unconsumed input: the request head, or a partial frame header / control frame.
    inbuf: Vec<u8>,
    dec: Decoder,
    out: Vec<u8>,
    out_pos: usize,
    in_message: bool,
    closing: bool,
}

const OUT_HIGH: usize = 256 * 1024;
const READ_BUF: usize = 64 * 1024;

fn start_server(max_size: usize, stats: Arc<ServerStats>, stop: Arc<AtomicBool>) -> SocketAddr {
    let mut listener =
        mio::net::TcpListener::bind("127.0.0.1:0".parse().expect("addr")).expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let mut poll = mio::Poll::new().expect("poll");
    const LISTENER: mio::Token = mio::Token(usize::MAX);
    poll.registry()
        .register(&mut listener, LISTENER, mio::Interest::READABLE)
        .expect("register listener");
    let config = DecoderConfig {
        allow_masked: true,
        max_message_size: 2 * max_size as u64 + 1024,
        ..DecoderConfig::default()
    };
    std::thread::Builder::new()
        .name("soak-echo".into())
        .spawn(move || {
            let mut events = mio::Events::with_capacity(1024);
            let mut peers: slab::Slab<Peer> = slab::Slab::new();
            let mut scratch = vec![0u8; READ_BUF + 20 * 1024];
            while !stop.load(Ordering::Relaxed) {
                if let Err(e) = poll.poll(&mut events, Some(Duration::from_millis(100))) {
                    if e.kind() == io::ErrorKind::Interrupted {
                        continue;
                    }
                    panic!("server poll: {e}");
                }
                for ev in events.iter() {
                    if ev.token() == LISTENER {
                        loop {
                            match listener.accept() {
                                Ok((mut stream, _)) => {
                                    let _ = stream.set_nodelay(true);
                                    let entry = peers.vacant_entry();
                                    let token = mio::Token(entry.key());
                                    poll.registry()
                                        .register(
                                            &mut stream,
                                            token,
                                            mio::Interest::READABLE | mio::Interest::WRITABLE,
                                        )
                                        .expect("register");
                                    entry.insert(Peer {
                                        stream,
                                        upgraded: false,
                                        inbuf: Vec::new(),
                                        dec: Decoder::new(config),
                                        out: Vec::new(),
                                        out_pos: 0,
                                        in_message: false,
                                        closing: false,
                                    });
                                    stats.accepted.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                                Err(e) => {
                                    eprintln!("soak: server accept: {e}");
                                    break;
                                }
                            }
                        }
                        continue;
                    }
                    let key = ev.token().0;
                    let Some(peer) = peers.get_mut(key) else {
                        continue;
                    };
                    if !drive(peer, &mut scratch, &stats) {
                        let mut peer = peers.remove(key);
                        let _ = poll.registry().deregister(&mut peer.stream);
                    }
                }
            }
        })
        .expect("server thread");
    addr
}

/// Reads, echoes and writes until the socket would block; false when the peer is finished.
fn drive(p: &mut Peer, scratch: &mut [u8], stats: &ServerStats) -> bool {
    loop {
        match flush(p) {
            Ok(true) => {}
            Ok(false) => return true, // wait for writable
            Err(_) => return false,
        }
        if p.closing {
            let _ = p.stream.shutdown(std::net::Shutdown::Both);
            return false;
        }
        if p.out.len() - p.out_pos > OUT_HIGH {
            return true;
        }
        let keep = p.inbuf.len();
        scratch[..keep].copy_from_slice(&p.inbuf);
        p.inbuf.clear();
        let n = match p.stream.read(&mut scratch[keep..keep + READ_BUF]) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                p.inbuf.extend_from_slice(&scratch[..keep]);
                return true;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                p.inbuf.extend_from_slice(&scratch[..keep]);
                continue;
            }
            Err(_) => return false,
        };
        let end = keep + n;
        let mut pos = 0;
        if !p.upgraded {
            let Some(head) = scratch[..end].windows(4).position(|w| w == b"\r\n\r\n") else {
                if end > 16 * 1024 {
                    return false;
                }
                p.inbuf.extend_from_slice(&scratch[..end]);
                continue;
            };
            let req = String::from_utf8_lossy(&scratch[..head]);
            let key = req.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("sec-websocket-key")
                    .then(|| v.trim().to_string())
            });
            let Some(key) = key else {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                return false;
            };
            let _ = write!(
                p.out,
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                expected_accept(&key)
            );
            p.upgraded = true;
            pos = head + 4;
        }
        while pos < end && !p.closing {
            match p.dec.decode(&mut scratch[pos..end]) {
                Ok((used, chunk)) => {
                    if let Some(c) = chunk {
                        echo(p, &c, stats);
                    } else if used == 0 {
                        break;
                    }
                    pos += used;
                }
                Err(e) => {
                    eprintln!("soak: server: protocol error: {e}");
                    stats.errors.fetch_add(1, Ordering::Relaxed);
                    return false;
                }
            }
        }
        if !p.closing {
            p.inbuf.extend_from_slice(&scratch[pos..end]);
        }
    }
}

fn echo(p: &mut Peer, c: &Chunk<'_>, stats: &ServerStats) {
    let m = c.meta;
    let (opcode, fin) = match m.opcode {
        OpCode::Text | OpCode::Binary => {
            let op = if p.in_message {
                OpCode::Continuation
            } else {
                m.opcode
            };
            let fin = m.is_message_end();
            p.in_message = !fin;
            if fin {
                stats.messages.fetch_add(1, Ordering::Relaxed);
            }
            (op, fin)
        }
        OpCode::Ping => (OpCode::Pong, true),
        OpCode::Close => {
            p.closing = true;
            (OpCode::Close, true)
        }
        OpCode::Pong | OpCode::Continuation => return,
    };
    let h = FrameHeader {
        fin,
        rsv1: false,
        rsv2: false,
        rsv3: false,
        opcode,
        mask: None,
        payload_len: c.payload.len() as u64,
    };
    let mut hdr = [0u8; MAX_HEADER_LEN];
    let n = h.encode(&mut hdr);
    p.out.extend_from_slice(&hdr[..n]);
    p.out.extend_from_slice(c.payload);
    stats.frames_out.fetch_add(1, Ordering::Relaxed);
}

/// Writes pending output: `Ok(true)` when all of it is out.
fn flush(p: &mut Peer) -> io::Result<bool> {
    while p.out_pos < p.out.len() {
        match p.stream.write(&p.out[p.out_pos..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => p.out_pos += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    p.out_pos = 0;
    if p.out.capacity() > 16 * 1024 {
        p.out = Vec::new();
    } else {
        p.out.clear();
    }
    Ok(true)
}

/// The echo server, on a thread here or in a child process (`--server-process`).
enum Server {
    Thread {
        stats: Arc<ServerStats>,
        stop: Arc<AtomicBool>,
    },
    Child {
        child: std::process::Child,
        stdout: io::BufReader<std::process::ChildStdout>,
    },
}

fn stats_line(s: &ServerStats) -> String {
    format!(
        "{} accepted, {} messages echoed in {} frames, {} errors",
        s.accepted.load(Ordering::Relaxed),
        s.messages.load(Ordering::Relaxed),
        s.frames_out.load(Ordering::Relaxed),
        s.errors.load(Ordering::Relaxed)
    )
}

impl Server {
    fn start(a: &Args) -> (Server, SocketAddr) {
        if !a.server_process {
            let stats = Arc::new(ServerStats::default());
            let stop = Arc::new(AtomicBool::new(false));
            let addr = start_server(a.max_size, stats.clone(), stop.clone());
            return (Server::Thread { stats, stop }, addr);
        }
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let exe = std::env::current_exe().unwrap_or_else(|e| usage(&format!("current_exe: {e}")));
        let mut child = Command::new(exe)
            .arg("--serve")
            .arg(a.max_size.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| usage(&format!("starting the server process: {e}")));
        let mut stdout = io::BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let addr = line
            .trim()
            .parse()
            .unwrap_or_else(|_| usage(&format!("server process said {line:?}")));
        (Server::Child { child, stdout }, addr)
    }

    /// CPU seconds (user, system) of the server process; `None` when it runs on a thread here.
    fn child_cpu_s(&self) -> Option<(f64, f64)> {
        match self {
            Server::Thread { .. } => None,
            Server::Child { child, .. } => Some(cpu_s_of(&format!("/proc/{}/stat", child.id()))),
        }
    }

    /// RSS of the server process (KiB); `None` when it runs on a thread here.
    fn child_rss_kb(&self) -> Option<u64> {
        match self {
            Server::Thread { .. } => None,
            Server::Child { child, .. } => Some(rss_kb_of(&format!("/proc/{}/statm", child.id()))),
        }
    }

    /// Stops the server and returns its statistics line.
    fn finish(self) -> String {
        match self {
            Server::Thread { stats, stop } => {
                stop.store(true, Ordering::Relaxed);
                stats_line(&stats)
            }
            Server::Child {
                mut child,
                mut stdout,
            } => {
                use std::io::BufRead;
                drop(child.stdin.take()); // EOF: the server prints its numbers and exits
                let mut line = String::new();
                let _ = stdout.read_line(&mut line);
                let _ = child.wait();
                format!("(child process) {}", line.trim())
            }
        }
    }
}

/// `--serve`: the echo server alone; prints its address, runs until stdin closes, then
/// prints its statistics.
fn serve_main(max_size: usize) -> ! {
    let stats = Arc::new(ServerStats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let addr = start_server(max_size, stats.clone(), stop.clone());
    println!("{addr}");
    let _ = io::stdout().flush();
    let _ = io::copy(&mut io::stdin(), &mut io::sink());
    stop.store(true, Ordering::Relaxed);
    println!("{}", stats_line(&stats));
    std::process::exit(0);
}

// ---------------------------------------------------------------------------------------------
// Main loop and report.

fn main() {
    let a = Args::parse();
    if a.serve {
        serve_main(a.max_size);
    }
    check_fd_limit(a.conns, a.server_process);
    let rss_start = rss_kb();
    let t0 = Instant::now();
    let (server, addr) = Server::start(&a);
    let srv_start = server.child_rss_kb();
    let url = format!("ws://{addr}/soak");
    println!(
        "soak: {} connections to {url} for {} s (warm-up {} s), seed {}, sizes 0..={} B, \
         {} in flight per connection, budget {} MiB over 4 KiB messages",
        a.conns,
        a.duration,
        a.warmup,
        a.seed,
        a.max_size,
        a.in_flight,
        a.inflight_bytes >> 20
    );

    let world = Arc::new(Mutex::new(World {
        max_size: a.max_size,
        in_flight: a.in_flight,
        budget: a.inflight_bytes,
        budget_used: 0,
        ids: Vec::with_capacity(a.conns),
        conns: Vec::with_capacity(a.conns),
        waiters: VecDeque::new(),
        scratch: Vec::new(),
        scratch_of: None,
        stopping: false,
        st: Stats::default(),
        errors: Vec::new(),
    }));
    let mut multi = Multi::new();
    {
        let mut w = lock(&world);
        for i in 0..a.conns {
            w.conns.push(Conn {
                rng: Rng::new(a.seed.wrapping_mul(0x1000_0000_01b3) ^ (i as u64 + 1)),
                opened: false,
                next_seq: 0,
                expect: 0,
                records: VecDeque::new(),
                out: None,
                planned: None,
                waiting: false,
                close_sent: false,
                done: false,
                rx: Rx::new(),
            });
            let mut easy = Easy::with_handler(
                &url,
                SoakConn {
                    idx: i,
                    world: world.clone(),
                },
            )
            .unwrap_or_else(|e| usage(&format!("{url}: {e}")));
            easy.ws_max_message_size(2 * a.max_size as u64 + 1024)
                .ws_message_mode(i % 4 == 3)
                .connect_timeout(Duration::from_secs(120));
            if i % 5 == 2 {
                // A small send queue: large messages go in parts, resumed from ws_writable.
                easy.ws_max_send_queue(SMALL_QUEUE);
            }
            let id = multi.add(easy);
            w.ids.push(id);
        }
    }

    let duration = Duration::from_secs(a.duration);
    let warmup = Duration::from_secs(a.warmup);
    let report_every = Duration::from_secs(a.report);
    let drain_limit = Duration::from_secs(120);
    let mut next_report = report_every;
    let mut next_sample = Duration::from_secs(1);
    let mut rss_warm: Option<u64> = None;
    let mut srv_warm: Option<u64> = None;
    let mut srv_end: Option<u64> = None;
    let mut rss_end: Option<u64> = None;
    let mut rss_max = rss_start;
    let mut rss_max_after_warm = 0u64;
    let mut stop_at: Option<Instant> = None;
    let mut completed = 0usize;
    let mut last = (Instant::now(), Stats::default());
    let mut hung = false;
    println!(
        "{:>6} {:>11} {:>11} {:>9} {:>9} {:>5} {:>5} {:>5} {:>6} {:>6} {:>7} {:>8} {:>8}",
        "t_s",
        "sent",
        "recv",
        "MB_out/s",
        "MB_in/s",
        "lost",
        "dup",
        "bad",
        "open",
        "wait",
        "budgMB",
        "rss_MiB",
        "srv_MiB"
    );
    loop {
        if let Err(e) = multi.poll(Some(Duration::from_millis(50))) {
            eprintln!("soak: poll: {e}");
            std::process::exit(1);
        }
        // Results are counted (and failures reported) by the done callback.
        while multi.info_read().is_some() {
            completed += 1;
        }
        let now = t0.elapsed();
        if now >= next_sample {
            next_sample += Duration::from_secs(1);
            let r = rss_kb();
            rss_max = rss_max.max(r);
            if rss_warm.is_some() {
                rss_max_after_warm = rss_max_after_warm.max(r);
            }
        }
        if rss_warm.is_none() && now >= warmup {
            let r = rss_kb();
            rss_warm = Some(r);
            srv_warm = server.child_rss_kb();
            rss_max_after_warm = r;
            println!("-- warm-up over: RSS {:.1} MiB", mib(r));
        }
        if now >= next_report {
            next_report += report_every;
            let w = lock(&world);
            let s = w.st;
            let dt = last.0.elapsed().as_secs_f64().max(1e-9);
            println!(
                "{:>6.0} {:>11} {:>11} {:>9.1} {:>9.1} {:>5} {:>5} {:>5} {:>6} {:>6} {:>7.1} {:>8.1} {:>8}",
                now.as_secs_f64(),
                s.sent,
                s.recv,
                (s.bytes_sent - last.1.bytes_sent) as f64 / dt / 1e6,
                (s.bytes_recv - last.1.bytes_recv) as f64 / dt / 1e6,
                s.lost,
                s.dup,
                s.corrupt + s.meta_errors,
                s.opened - s.done_ok - s.failed,
                w.waiters.len(),
                w.budget_used as f64 / (1 << 20) as f64,
                mib(rss_kb()),
                server
                    .child_rss_kb()
                    .map_or("-".to_string(), |r| format!("{:.1}", mib(r))),
            );
            last = (Instant::now(), s);
        }
        if stop_at.is_none() && now >= duration {
            let r = rss_kb();
            rss_end = Some(r);
            srv_end = server.child_rss_kb();
            rss_max = rss_max.max(r);
            rss_max_after_warm = rss_max_after_warm.max(r);
            println!(
                "-- {} s: stop sending, closing every connection with 1000",
                a.duration
            );
            stop_at = Some(Instant::now());
            lock(&world).stopping = true;
        }
        if let Some(at) = stop_at {
            // Close every connection that has nothing in flight (the others close from their
            // last echo); repeated, since ws_open may still come for slow connections.
            let mut w = lock(&world);
            for i in 0..a.conns {
                let c = &w.conns[i];
                if c.opened && !c.close_sent && !c.done && w.idle(i) {
                    let id = w.ids[i];
                    match multi.ws(id) {
                        Ok(mut ws) => w.close(i, &mut ws),
                        Err(e) => {
                            let msg = format!("conn {i}: ws for close: {e}");
                            w.conns[i].close_sent = true;
                            w.error(msg);
                        }
                    }
                }
            }
            drop(w);
            if completed == a.conns {
                break;
            }
            if at.elapsed() > drain_limit {
                hung = true;
                break;
            }
        } else if completed == a.conns {
            eprintln!("soak: every transfer ended before the run was over");
            break;
        }
    }
    let close_s = stop_at.map_or(0.0, |t| t.elapsed().as_secs_f64());
    let rss_closed = rss_kb();
    let cpu = cpu_s_of("/proc/self/stat");
    let srv_cpu = server.child_cpu_s();
    let server_line = server.finish();

    let w = lock(&world);
    let s = w.st;
    let rss_warm = rss_warm.unwrap_or(rss_start);
    let rss_end = rss_end.unwrap_or(rss_closed);
    let growth = (rss_end as f64 - rss_warm as f64) / rss_warm as f64 * 100.0;
    let growth_max = (rss_max_after_warm as f64 - rss_warm as f64) / rss_warm as f64 * 100.0;
    let wall = t0.elapsed().as_secs_f64();
    println!("== soak summary");
    println!(
        "connections: {} (opened {}, closed cleanly {}, failed {}, not finished {})",
        a.conns,
        s.opened,
        s.done_ok,
        s.failed,
        a.conns - completed
    );
    println!(
        "messages: sent {} received {} (text {}, fragmented {}, via start_frame {}, via send_offset {}, \
         empty {}, largest {} B)",
        s.sent, s.recv, s.text, s.fragmented, s.via_start_frame, s.via_offset, s.empty, s.max_len
    );
    println!(
        "bytes: sent {:.1} MiB received {:.1} MiB ({:.1} MB/s each way over {:.0} s)",
        s.bytes_sent as f64 / (1 << 20) as f64,
        s.bytes_recv as f64 / (1 << 20) as f64,
        s.bytes_recv as f64 / 1e6 / a.duration as f64,
        a.duration
    );
    println!(
        "lost {} duplicated {} corrupted {} metadata errors {} send errors {}",
        s.lost, s.dup, s.corrupt, s.meta_errors, s.send_errors
    );
    println!(
        "send queue full {} times; budget waits {}; server: {server_line}",
        s.blocked, s.budget_waits,
    );
    let whose = if a.server_process {
        "client process"
    } else {
        "whole process, client and server"
    };
    println!(
        "RSS ({whose}, KiB): start {} after warm-up {} end {} max {} (max after warm-up {}) after close {}",
        rss_start, rss_warm, rss_end, rss_max, rss_max_after_warm, rss_closed
    );
    if let (Some(s0), Some(sw), Some(se)) = (srv_start, srv_warm, srv_end) {
        println!("RSS (server process, KiB): start {s0} after warm-up {sw} end {se}");
    }
    let pct = |c: (f64, f64)| (c.0 + c.1) / wall * 100.0;
    print!(
        "CPU ({whose}): user {:.1} s sys {:.1} s ({:.0}% of one core)",
        cpu.0,
        cpu.1,
        pct(cpu)
    );
    match srv_cpu {
        Some(c) => println!(
            "; server process: user {:.1} s sys {:.1} s ({:.0}%)",
            c.0,
            c.1,
            pct(c)
        ),
        None => println!(),
    }
    println!(
        "RSS growth from warm-up to end: {growth:+.2}% (peak after warm-up {growth_max:+.2}%); close took {close_s:.1} s; wall {wall:.0} s"
    );
    let mut fail = Vec::new();
    if s.lost + s.dup + s.corrupt + s.meta_errors + s.send_errors > 0 {
        fail.push("message errors");
    }
    if s.failed > 0 || s.done_ok != a.conns as u64 {
        fail.push("transfers did not all close cleanly");
    }
    if hung {
        fail.push("close did not finish within 120 s");
        let stuck: Vec<usize> = (0..a.conns)
            .filter(|&i| !w.conns[i].done)
            .take(10)
            .collect();
        for i in stuck {
            let c = &w.conns[i];
            eprintln!(
                "soak: stuck conn {i}: opened {} close_sent {} in flight {} waiting {} sending {:?}",
                c.opened,
                c.close_sent,
                c.records.len(),
                c.waiting,
                c.out,
            );
        }
    }
    if growth > 10.0 {
        fail.push("RSS grew more than 10% after the warm-up");
    }
    if fail.is_empty() {
        println!("PASS");
    } else {
        println!("FAIL: {}", fail.join(", "));
        std::process::exit(1);
    }
}
