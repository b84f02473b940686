//! permessage-deflate (RFC 7692) interop: curlew's client against two independent
//! implementations, Python's `websockets` and Node's `ws`, running the echo servers in
//! `tests/interop/` (installed by `.ci/interop-setup.sh` under `$CURLEW_INTEROP_DIR`, default
//! `/opt/curlew-interop`).
//!
//! For every case of a parameter matrix (each no-context-takeover flag offered by the client
//! or requested by the server, client and server window bits 9..=15 (and a server asking for
//! 8), threshold 0 (and once 1024)) a test checks that the negotiated
//! `Sec-WebSocket-Extensions` is the expected one on both sides (the server reports its own
//! answer for the text message `?ext`) and, in the connect-only runs, that curlew really
//! compresses (the server counts the wire bytes of a 64 KiB JSON message for `?wire`); then
//! it sends messages of 0 bytes to 4 MiB, text and binary, compressible (short and long match
//! distances) and random, some of them fragmented, and checks every echo byte for byte. The
//! servers echo some messages fragmented. Both WebSocket models are used: connect-only
//! ([`curlew::ws::WsHandle`]) and callbacks (message mode and chunks, with a small send queue).
//!
//! Sizes are spread to keep the debug-build run short: every kind up to 1 MiB on default
//! parameters, 4 MiB for each kind once per server, up to 256 KiB in the other cells.
//!
//! Without the runtimes the tests print `SKIPPED: ...` and pass, unless
//! `CURLEW_REQUIRE_INTEROP=1` (CI), which makes them fail.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use curlew::ws::{DeflateConfig, WsError, BINARY, CLOSE, CONT, TEXT};
use curlew::{Ctx, Easy, Flow, Handler, Multi, TransferId};

/// Bound on one test's whole conversation with one server.
const DEADLINE: Duration = Duration::from_secs(120);
/// Largest message the servers and curlew accept (4 MiB plus margin).
const MAX_MESSAGE: u64 = 8 << 20;
const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

// ---- the runtimes ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Peer {
    /// Python `websockets` (tests/interop/ws_echo_server.py).
    Python,
    /// Node `ws` (tests/interop/ws_echo_server.js).
    Node,
}

fn interop_dir() -> PathBuf {
    std::env::var_os("CURLEW_INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/curlew-interop"))
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/interop")
        .join(name)
}

/// The command that starts `peer`'s echo server, or why it cannot be started.
fn server_command(peer: Peer) -> Result<Command, String> {
    let dir = interop_dir();
    match peer {
        Peer::Python => {
            let python = dir.join("venv/bin/python");
            let ok = Command::new(&python)
                .args(["-c", "import websockets"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return Err(format!(
                    "no Python `websockets` in {}",
                    dir.join("venv").display()
                ));
            }
            let mut c = Command::new(python);
            c.arg(script("ws_echo_server.py"));
            Ok(c)
        }
        Peer::Node => {
            let modules = dir.join("node/node_modules");
            if !modules.join("ws/package.json").is_file() {
                return Err(format!("no Node `ws` in {}", modules.display()));
            }
            let ok = Command::new("node")
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return Err("no `node` on PATH".into());
            }
            let mut c = Command::new("node");
            c.arg(script("ws_echo_server.js")).env("NODE_PATH", modules);
            Ok(c)
        }
    }
}

/// True if `peer` can run; otherwise skips loudly, or fails when `CURLEW_REQUIRE_INTEROP=1`.
fn available(peer: Peer, test: &str) -> bool {
    match server_command(peer) {
        Ok(_) => true,
        Err(why) => {
            let msg = format!(
                "{test}: {why} (CURLEW_INTEROP_DIR={}): run .ci/interop-setup.sh",
                interop_dir().display()
            );
            if std::env::var("CURLEW_REQUIRE_INTEROP").as_deref() == Ok("1") {
                panic!("CURLEW_REQUIRE_INTEROP=1 but {msg}");
            }
            // Straight to the stderr handle: the test harness captures `eprintln!`.
            let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {msg} ***");
            false
        }
    }
}

/// What the server requests or accepts (its command-line flags).
#[derive(Clone, Copy, Debug, Default)]
struct ServerParams {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: Option<u8>,
    /// Echo messages longer than this in fragments of this size (0: whole).
    fragment: usize,
}

/// A running echo server; killed when dropped (and it exits by itself when its stdin closes,
/// should this process die first).
struct EchoServer {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
}

impl EchoServer {
    fn start(peer: Peer, p: &ServerParams) -> EchoServer {
        let mut cmd = server_command(peer).expect("runtime checked by available()");
        if p.server_no_context_takeover {
            cmd.arg("--server-no-context-takeover");
        }
        if p.client_no_context_takeover {
            cmd.arg("--client-no-context-takeover");
        }
        if let Some(b) = p.server_max_window_bits {
            cmd.args(["--server-max-window-bits", &b.to_string()]);
        }
        if let Some(b) = p.client_max_window_bits {
            cmd.args(["--client-max-window-bits", &b.to_string()]);
        }
        cmd.args(["--max-size", &MAX_MESSAGE.to_string()]);
        cmd.args(["--fragment", &p.fragment.to_string()]);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting the {peer:?} echo server: {e}"));
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        // Read the port on a thread so a server that never prints cannot hang the test; the
        // thread then drains stdout until the server exits.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            for _ in lines {}
        });
        let mut server = EchoServer {
            child,
            _stdin: stdin,
            port: 0,
        };
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(Ok(l))) => l,
            other => panic!("the {peer:?} echo server printed no port: {other:?}"),
        };
        server.port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the {peer:?} echo server printed {line:?}, not a port"));
        server
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- negotiated parameters -----------------------------------------------------------------

/// permessage-deflate parameters as they appear in a `Sec-WebSocket-Extensions` answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Ext {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: Option<u8>,
}

fn parse_ext(value: &str) -> Ext {
    let mut parts = value.split(';').map(str::trim);
    assert_eq!(parts.next(), Some("permessage-deflate"), "answer {value:?}");
    let mut e = Ext::default();
    for p in parts {
        let (name, v) = match p.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (p, None),
        };
        let bits = || -> Option<u8> { Some(v?.parse().expect("window bits")) };
        match name {
            "server_no_context_takeover" => e.server_no_context_takeover = true,
            "client_no_context_takeover" => e.client_no_context_takeover = true,
            "server_max_window_bits" => e.server_max_window_bits = bits(),
            "client_max_window_bits" => e.client_max_window_bits = bits(),
            _ => panic!("unexpected parameter {p:?} in {value:?}"),
        }
    }
    e
}

/// One cell of the matrix: what curlew offers, how the server is configured, what both
/// agree on.
#[derive(Clone, Copy, Debug)]
struct Case {
    name: &'static str,
    offer: DeflateConfig,
    server: ServerParams,
    want: Ext,
}

fn offer(cnct: bool, snct: bool, cbits: Option<u8>, sbits: Option<u8>) -> DeflateConfig {
    DeflateConfig {
        client_no_context_takeover: cnct,
        server_no_context_takeover: snct,
        client_max_window_bits: cbits,
        server_max_window_bits: sbits,
        threshold: 0,
        level: None,
    }
}

fn want(cnct: bool, snct: bool, cbits: Option<u8>, sbits: Option<u8>) -> Ext {
    Ext {
        client_no_context_takeover: cnct,
        server_no_context_takeover: snct,
        client_max_window_bits: cbits,
        server_max_window_bits: sbits,
    }
}

fn server(cnct: bool, snct: bool, cbits: Option<u8>, sbits: Option<u8>) -> ServerParams {
    ServerParams {
        client_no_context_takeover: cnct,
        server_no_context_takeover: snct,
        client_max_window_bits: cbits,
        server_max_window_bits: sbits,
        fragment: 0,
    }
}

fn defaults_case() -> Case {
    Case {
        name: "defaults",
        offer: offer(false, false, None, None),
        server: ServerParams::default(),
        want: Ext::default(),
    }
}

/// The matrix run in the connect-only model (the defaults case runs separately, with every
/// size up to 4 MiB).
fn matrix() -> Vec<Case> {
    let mut v = vec![
        Case {
            name: "client offers client_no_context_takeover",
            offer: offer(true, false, None, None),
            server: ServerParams::default(),
            want: want(true, false, None, None),
        },
        Case {
            name: "client offers server_no_context_takeover",
            offer: offer(false, true, None, None),
            server: ServerParams::default(),
            want: want(false, true, None, None),
        },
        Case {
            name: "client offers both no_context_takeover",
            offer: offer(true, true, None, None),
            server: ServerParams::default(),
            want: want(true, true, None, None),
        },
        Case {
            name: "server requests client_no_context_takeover",
            offer: offer(false, false, None, None),
            server: server(true, false, None, None),
            want: want(true, false, None, None),
        },
        Case {
            name: "server requests server_no_context_takeover, echoes fragmented",
            offer: offer(false, false, None, None),
            server: ServerParams {
                fragment: 1000,
                ..server(false, true, None, None)
            },
            want: want(false, true, None, None),
        },
        Case {
            name: "threshold 1024: shorter messages go uncompressed between compressed ones",
            offer: DeflateConfig {
                threshold: 1024,
                ..offer(false, false, None, None)
            },
            server: ServerParams::default(),
            want: Ext::default(),
        },
        Case {
            name: "server lowers the offered windows (client 14->10, server 13->11)",
            offer: offer(false, false, Some(14), Some(13)),
            server: server(false, false, Some(10), Some(11)),
            want: want(false, false, Some(10), Some(11)),
        },
    ];
    // Every window size on each side, offered by the client (client b with server 24-b) ...
    const NAMES: [&str; 7] = [
        "client offers client_max_window_bits=9, server_max_window_bits=15",
        "client offers client_max_window_bits=10, server_max_window_bits=14",
        "client offers client_max_window_bits=11, server_max_window_bits=13",
        "client offers client_max_window_bits=12, server_max_window_bits=12",
        "client offers client_max_window_bits=13, server_max_window_bits=11",
        "client offers client_max_window_bits=14, server_max_window_bits=10",
        "client offers client_max_window_bits=15, server_max_window_bits=9",
    ];
    for (i, b) in (9u8..=15).enumerate() {
        v.push(Case {
            name: NAMES[i],
            offer: offer(false, false, Some(b), Some(24 - b)),
            server: ServerParams::default(),
            want: want(false, false, Some(b), Some(24 - b)),
        });
    }
    // ... and requested by the server on its own (offer: bare client_max_window_bits).
    for (name, cb, sb) in [
        (
            "server requests client_max_window_bits=8 (curlew sends uncompressed)",
            Some(8),
            None,
        ),
        ("server requests client_max_window_bits=9", Some(9), None),
        ("server requests server_max_window_bits=9", None, Some(9)),
        (
            "server requests client_max_window_bits=12, server_max_window_bits=15",
            Some(12),
            Some(15),
        ),
    ] {
        v.push(Case {
            name,
            offer: offer(false, false, None, None),
            server: server(false, false, cb, sb),
            want: want(false, false, cb, sb),
        });
    }
    v
}

// ---- payloads -------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// JSON-like text: compressible, short match distances.
    Json,
    /// Random text, ASCII with some 2-, 3- and 4-byte UTF-8 characters: compresses poorly.
    TextRandom,
    /// Random bytes: incompressible (stored blocks).
    BinRandom,
    /// A random 3001-byte block repeated: compressible only with matches farther back than a
    /// 9..=11-bit window reaches, so a compressor using a larger window than negotiated is
    /// caught by the peer's inflater.
    BinRepeat,
}

const ALL_KINDS: [Kind; 4] = [
    Kind::Json,
    Kind::TextRandom,
    Kind::BinRandom,
    Kind::BinRepeat,
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// `n` bytes of `kind` (deterministic), and the frame type to send them as.
fn payload(kind: Kind, n: usize) -> (u32, Vec<u8>) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ n as u64);
    let mut v = Vec::with_capacity(n + 8);
    match kind {
        Kind::Json => {
            let mut i = 0u64;
            while v.len() < n {
                let r = rng.next();
                v.extend_from_slice(
                    format!(
                        r#"{{"id":{i},"user":"user-{}","tags":["curlew","ws"],"score":{}.{},"ok":{}}},"#,
                        r % 1000,
                        r % 100,
                        (r >> 8) % 10,
                        r & 1 == 0
                    )
                    .as_bytes(),
                );
                i += 1;
            }
            v.truncate(n);
            (TEXT, v)
        }
        Kind::TextRandom => {
            const WIDE: [&str; 4] = ["é", "€", "🦀", "ß"];
            while v.len() < n {
                let r = rng.next();
                let room = n - v.len();
                let w = WIDE[(r >> 8) as usize % WIDE.len()];
                if r % 16 == 0 && w.len() <= room {
                    v.extend_from_slice(w.as_bytes());
                } else {
                    v.push(b' ' + (r >> 16) as u8 % 95);
                }
            }
            assert!(std::str::from_utf8(&v).is_ok());
            (TEXT, v)
        }
        Kind::BinRandom => {
            while v.len() < n {
                v.extend_from_slice(&rng.next().to_le_bytes());
            }
            v.truncate(n);
            (BINARY, v)
        }
        Kind::BinRepeat => {
            let mut block = Vec::with_capacity(3008);
            while block.len() < 3001 {
                block.extend_from_slice(&rng.next().to_le_bytes());
            }
            block.truncate(3001);
            while v.len() < n {
                v.extend_from_slice(&block);
            }
            v.truncate(n);
            (BINARY, v)
        }
    }
}

/// One message to send: its parts (more than one: a fragmented send) and the echo expected.
struct Msg {
    label: String,
    parts: Vec<(u32, Vec<u8>)>,
    ty: u32,
    whole: Vec<u8>,
}

fn whole(kind: Kind, n: usize) -> Msg {
    let (ty, data) = payload(kind, n);
    Msg {
        label: format!("{kind:?} {n} bytes"),
        parts: vec![(ty, data.clone())],
        ty,
        whole: data,
    }
}

/// `kind`, `n` bytes, sent as fragments of the given sizes (the last takes the rest).
fn fragmented(kind: Kind, n: usize, cuts: &[usize]) -> Msg {
    let (ty, data) = payload(kind, n);
    let mut parts = Vec::new();
    let mut at = 0;
    for &c in cuts {
        parts.push((ty | CONT, data[at..at + c].to_vec()));
        at += c;
    }
    parts.push((ty, data[at..].to_vec()));
    Msg {
        label: format!("{kind:?} {n} bytes in {} fragments", parts.len()),
        parts,
        ty,
        whole: data,
    }
}

const SMALL_SIZES: [usize; 7] = [0, 1, 125, 126, 1000, 65535, 65536];

/// Every small size in every kind, one `big` message (of a kind picked by `seed`) and a
/// fragmented send (with an empty middle fragment).
fn small_plan(seed: usize, big: usize) -> Vec<Msg> {
    let mut v = Vec::new();
    for kind in ALL_KINDS {
        for n in SMALL_SIZES {
            v.push(whole(kind, n));
        }
    }
    v.push(whole(ALL_KINDS[seed % 4], big));
    v.push(fragmented(
        ALL_KINDS[(seed + 1) % 4],
        100_000,
        &[30_000, 0, 40_000],
    ));
    v
}

/// Every size up to 1 MiB in every kind, 4 MiB of compressible text and of random binary
/// (compressing in a debug build is slow: the other 4 MiB kinds run in message mode), and
/// fragmented sends.
fn full_plan() -> Vec<Msg> {
    let mut v = Vec::new();
    for kind in ALL_KINDS {
        for n in SMALL_SIZES.into_iter().chain([MIB]) {
            v.push(whole(kind, n));
        }
    }
    v.push(whole(Kind::Json, 4 * MIB));
    v.push(whole(Kind::BinRandom, 4 * MIB));
    v.push(fragmented(Kind::Json, MIB, &[1, 300_000, 0, 65536]));
    v.push(fragmented(Kind::BinRepeat, 300_000, &[100_000]));
    v
}

// ---- checks shared by both models -----------------------------------------------------------

/// Records the response header lines (both models).
#[derive(Clone, Default)]
struct Headers(Arc<Mutex<Vec<String>>>);

impl Headers {
    /// The `Sec-WebSocket-Extensions` value of the 101 answer.
    fn extensions(&self) -> Option<String> {
        self.0.lock().unwrap().iter().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("sec-websocket-extensions")
                .then(|| value.trim().to_string())
        })
    }

    fn push(&self, line: &[u8]) {
        self.0
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(line).into_owned());
    }
}

/// The negotiation as curlew saw it (response header) and as the server reports it (its
/// answer to `?ext`) must agree, and be the case's expectation.
fn check_negotiation(ctx: &str, case: &Case, client_saw: Option<String>, server_said: &[u8]) {
    let client_saw = client_saw.unwrap_or_else(|| {
        panic!("{ctx}: no Sec-WebSocket-Extensions in the 101: compression was not negotiated")
    });
    let server_said = std::str::from_utf8(server_said).expect("?ext answer is text");
    let server_said = server_said
        .strip_prefix("ext:")
        .unwrap_or_else(|| panic!("{ctx}: ?ext answered {server_said:?}"));
    assert_eq!(
        client_saw, server_said,
        "{ctx}: the client and the server disagree"
    );
    assert_eq!(
        parse_ext(&client_saw),
        case.want,
        "{ctx}: negotiated {client_saw:?}"
    );
}

#[track_caller]
fn check_echo(ctx: &str, msg: &Msg, ty: u32, got: &[u8]) {
    if ty & CLOSE != 0 {
        let code = got.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
        let reason = String::from_utf8_lossy(got.get(2..).unwrap_or_default());
        panic!(
            "{ctx}: {}: the server closed instead of echoing: {code:?} {reason:?}",
            msg.label
        );
    }
    assert_eq!(ty, msg.ty, "{ctx}: {}: echo type", msg.label);
    if got != msg.whole {
        let at = got
            .iter()
            .zip(&msg.whole)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(msg.whole.len()));
        panic!(
            "{ctx}: {}: echo differs: {} bytes back for {}, first difference at byte {at}",
            msg.label,
            got.len(),
            msg.whole.len()
        );
    }
}

// ---- connect-only model ---------------------------------------------------------------------

impl Handler for Headers {
    fn header(&mut self, _ctx: &mut Ctx<'_>, line: &[u8]) -> Flow {
        self.push(line);
        Flow::Continue
    }
}

fn send_all(m: &mut Multi, id: TransferId, data: &[u8], flags: u32, deadline: Instant) {
    let mut off = 0;
    loop {
        match m.ws(id).unwrap().send(&data[off..], flags) {
            Ok(n) => {
                off += n;
                if off == data.len() {
                    return;
                }
            }
            Err(WsError::WouldBlock) => {}
            Err(e) => panic!("send: {e}"),
        }
        assert!(Instant::now() < deadline, "send did not complete in time");
        m.poll(Some(Duration::from_millis(5))).unwrap();
    }
}

/// One whole message (type, payload); a close frame comes back with `CLOSE`.
fn recv_one(m: &mut Multi, id: TransferId, deadline: Instant) -> (u32, Vec<u8>) {
    let mut buf = Vec::new();
    loop {
        match m.ws(id).unwrap().recv_message(&mut buf) {
            Ok(flags) => return (flags, buf),
            Err(WsError::WouldBlock) => {}
            Err(e) => panic!("recv: {e}"),
        }
        assert!(Instant::now() < deadline, "no echo in time");
        m.poll(Some(Duration::from_millis(5))).unwrap();
    }
}

/// The server's count of bytes received so far (its answer to `?wire`).
fn wire_bytes(m: &mut Multi, id: TransferId, deadline: Instant) -> u64 {
    send_all(m, id, b"?wire", TEXT, deadline);
    let (ty, answer) = recv_one(m, id, deadline);
    assert_eq!(ty, TEXT, "?wire answer type");
    let answer = String::from_utf8(answer).unwrap();
    answer
        .strip_prefix("wire:")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("?wire answered {answer:?}"))
}

/// Connect-only: negotiate `case` with `peer`, send `plan` one message at a time.
fn run_connect_only(peer: Peer, case: &Case, plan: &[Msg]) {
    let ctx = format!("{peer:?}, connect-only, {}", case.name);
    let started = Instant::now();
    let srv = EchoServer::start(peer, &case.server);
    let deadline = Instant::now() + DEADLINE;
    let headers = Headers::default();
    let mut e = Easy::with_handler(&srv.url(), headers.clone()).unwrap();
    e.connect_only(true).ws_max_message_size(MAX_MESSAGE);
    e.ws_compress(Some(case.offer)).unwrap();
    let mut m = Multi::new();
    let id = m.add(e);
    let result = loop {
        if let Some(msg) = m.info_read() {
            break msg.result;
        }
        assert!(Instant::now() < deadline, "{ctx}: no upgrade in time");
        m.poll(Some(Duration::from_millis(20))).unwrap();
    };
    result.unwrap_or_else(|e| panic!("{ctx}: upgrade: {e}"));

    send_all(&mut m, id, b"?ext", TEXT, deadline);
    let (ty, answer) = recv_one(&mut m, id, deadline);
    assert_eq!(ty, TEXT, "{ctx}: ?ext answer type");
    check_negotiation(&ctx, case, headers.extensions(), &answer);

    // Proof that curlew does compress: 64 KiB of JSON cost the server far fewer wire bytes.
    let before = wire_bytes(&mut m, id, deadline);
    let probe = whole(Kind::Json, 64 * KIB);
    send_all(&mut m, id, &probe.whole, probe.ty, deadline);
    let (ty, got) = recv_one(&mut m, id, deadline);
    check_echo(&ctx, &probe, ty, &got);
    let cost = wire_bytes(&mut m, id, deadline) - before;
    if case.want.client_max_window_bits == Some(8) {
        // zlib cannot deflate with an 8-bit window: curlew sends uncompressed (RFC 7692 §6).
        assert!(
            cost > probe.whole.len() as u64,
            "{ctx}: 64 KiB of JSON took {cost} bytes on the wire"
        );
    } else {
        assert!(
            cost < probe.whole.len() as u64 / 2,
            "{ctx}: 64 KiB of JSON took {cost} bytes on the wire: not compressed?"
        );
    }

    for msg in plan {
        for (flags, part) in &msg.parts {
            send_all(&mut m, id, part, *flags, deadline);
        }
        let (ty, got) = recv_one(&mut m, id, deadline);
        check_echo(&ctx, msg, ty, &got);
    }

    m.ws(id).unwrap().close(1000, "done").unwrap();
    let (ty, body) = recv_one(&mut m, id, deadline);
    assert_eq!(ty & CLOSE, CLOSE, "{ctx}: close answer");
    assert_eq!(body.get(..2), Some(&1000u16.to_be_bytes()[..]), "{ctx}");
    eprintln!(
        "{ctx}: {} messages in {:?} (64 KiB of JSON sent in {cost} wire bytes)",
        plan.len(),
        started.elapsed()
    );
}

// ---- callback model -------------------------------------------------------------------------

/// Sends `?ext` then each message once the previous echo is back (so at most one message is
/// in flight), checks each echo, and closes after the last one. `message_mode`: echoes
/// arrive in [`Handler::ws_message`]; otherwise in chunks to [`Handler::write`].
struct Conversation {
    headers: Headers,
    plan: Vec<Msg>,
    ctx: String,
    /// The `?ext` answer.
    ext: Option<Vec<u8>>,
    /// Next message (index into `plan`, `?ext` before it), part and offset to send.
    sending: Option<(usize, usize, usize)>,
    /// Echoes checked so far (`?ext` included).
    received: usize,
    /// Chunks of the message being received (chunk mode).
    cur: Vec<u8>,
    chunks: usize,
    /// `ws_writable` calls (sends resumed after the queue filled).
    writable: usize,
    closed_by_us: bool,
    close_echo: Option<Vec<u8>>,
}

impl Conversation {
    fn new(ctx: String, plan: Vec<Msg>) -> Self {
        Conversation {
            headers: Headers::default(),
            plan,
            ctx,
            ext: None,
            sending: None,
            received: 0,
            cur: Vec::new(),
            chunks: 0,
            writable: 0,
            closed_by_us: false,
            close_echo: None,
        }
    }

    /// Sends what is due; stops at a would-block (resumed by `ws_writable`).
    fn pump(&mut self, ctx: &mut Ctx<'_>) {
        while let Some((i, p, off)) = self.sending {
            let mut ws = ctx.ws().unwrap();
            let (flags, data) = &self.plan[i].parts[p];
            match ws.send(&data[off..], *flags) {
                Ok(n) if off + n == data.len() => {
                    self.sending = (p + 1 < self.plan[i].parts.len()).then_some((i, p + 1, 0));
                }
                Ok(0) => return,
                Ok(n) => self.sending = Some((i, p, off + n)),
                Err(WsError::WouldBlock) => return,
                Err(e) => panic!("{}: send: {e}", self.ctx),
            }
        }
    }

    /// One whole echo arrived.
    fn echo(&mut self, ctx: &mut Ctx<'_>, ty: u32, data: &[u8]) {
        if self.received == 0 {
            assert_eq!(ty, TEXT, "{}: ?ext answer type", self.ctx);
            self.ext = Some(data.to_vec());
        } else {
            check_echo(&self.ctx, &self.plan[self.received - 1], ty, data);
        }
        self.received += 1;
        let next = self.received - 1;
        if next < self.plan.len() {
            assert!(
                self.sending.is_none(),
                "{}: echo before the send ended",
                self.ctx
            );
            self.sending = Some((next, 0, 0));
            self.pump(ctx);
        } else {
            self.closed_by_us = true;
            ctx.ws().unwrap().close(1000, "done").unwrap();
        }
    }
}

impl Handler for Conversation {
    fn header(&mut self, _ctx: &mut Ctx<'_>, line: &[u8]) -> Flow {
        self.headers.push(line);
        Flow::Continue
    }

    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        ctx.ws().unwrap().send(b"?ext", TEXT).unwrap();
        Flow::Continue
    }

    fn ws_writable(&mut self, ctx: &mut Ctx<'_>) {
        self.writable += 1;
        self.pump(ctx);
    }

    fn ws_message(&mut self, ctx: &mut Ctx<'_>, msg: &[u8], frame: curlew::ws::WsFrame) -> Flow {
        assert_eq!(frame.len, msg.len());
        if frame.is_close() {
            self.close_echo = Some(msg.to_vec());
            return Flow::Continue;
        }
        self.echo(ctx, frame.flags & (TEXT | BINARY), msg);
        Flow::Continue
    }

    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let meta = ctx.ws_meta().unwrap();
        if meta.is_close() {
            self.close_echo = Some(data.to_vec());
            return Flow::Continue;
        }
        if meta.flags & (TEXT | BINARY) == 0 {
            return Flow::Continue;
        }
        self.chunks += 1;
        assert_eq!(
            meta.offset,
            self.cur.len() as u64,
            "{}: chunk offset",
            self.ctx
        );
        self.cur.extend_from_slice(data);
        if meta.is_message_end() {
            let got = std::mem::take(&mut self.cur);
            self.echo(ctx, meta.flags & (TEXT | BINARY), &got);
        }
        Flow::Continue
    }
}

/// The send queue bound in the callback model.
const SEND_QUEUE: usize = 256 * KIB;

/// Callback model (message mode or chunks): negotiate `case` with `peer`, run `plan`.
fn run_callbacks(peer: Peer, case: &Case, plan: Vec<Msg>, message_mode: bool) {
    let mode = if message_mode {
        "callbacks, message mode"
    } else {
        "callbacks, chunks"
    };
    let ctx = format!("{peer:?}, {mode}, {}", case.name);
    let started = Instant::now();
    let srv = EchoServer::start(peer, &case.server);
    let n = plan.len();
    let over_queue = plan.iter().any(|m| m.whole.len() > SEND_QUEUE);
    let mut e = Easy::with_handler(&srv.url(), Conversation::new(ctx.clone(), plan)).unwrap();
    // A small send queue: large messages go out as many partial compressed sends, resumed
    // from `ws_writable` (connect-only keeps the default 4 MiB queue).
    e.ws_max_message_size(MAX_MESSAGE)
        .ws_max_send_queue(SEND_QUEUE)
        .ws_message_mode(message_mode)
        .timeout(Some(DEADLINE));
    e.ws_compress(Some(case.offer)).unwrap();
    let mut m = Multi::new();
    let id = m.add(e);
    let deadline = Instant::now() + DEADLINE + Duration::from_secs(5);
    let result = loop {
        if let Some(msg) = m.info_read() {
            break msg.result;
        }
        assert!(
            Instant::now() < deadline,
            "{ctx}: the transfer did not end in time"
        );
        m.poll(Some(Duration::from_millis(50))).unwrap();
    };
    let e = m.remove(id).unwrap();
    let c = e.handler::<Conversation>().unwrap();
    result.unwrap_or_else(|err| {
        panic!(
            "{ctx}: transfer failed after {} of {n} echoes: {err}",
            c.received
        )
    });
    assert_eq!(c.received, n + 1, "{ctx}: echoes");
    assert!(c.closed_by_us, "{ctx}");
    let close = c
        .close_echo
        .as_deref()
        .unwrap_or_else(|| panic!("{ctx}: no close echo"));
    assert_eq!(close.get(..2), Some(&1000u16.to_be_bytes()[..]), "{ctx}");
    if !message_mode {
        assert!(c.chunks > n, "{ctx}: chunks");
    }
    if over_queue {
        assert!(c.writable > 0, "{ctx}: the send queue never filled");
    }
    check_negotiation(
        &ctx,
        case,
        c.headers.extensions(),
        c.ext.as_deref().unwrap(),
    );
    eprintln!("{ctx}: {n} messages in {:?}", started.elapsed());
}

// ---- the tests ------------------------------------------------------------------------------

fn defaults_all_sizes(peer: Peer) {
    if available(peer, "defaults_all_sizes") {
        run_connect_only(peer, &defaults_case(), &full_plan());
    }
}

fn matrix_connect_only(peer: Peer) {
    if available(peer, "matrix_connect_only") {
        for (i, case) in matrix().iter().enumerate() {
            run_connect_only(peer, case, &small_plan(i, 256 * KIB));
        }
    }
}

/// Message mode, everything limited at once: both no-context-takeover flags and 9-bit
/// windows. (Large messages are slow to compress with a 9-bit window in a debug build: zlib
/// slides its hash tables every 512 bytes. The 4 MiB ones run in [`callbacks_large`].)
fn callbacks_message_mode(peer: Peer) {
    if !available(peer, "callbacks_message_mode") {
        return;
    }
    let case = Case {
        name: "both no_context_takeover, both windows 9 bits",
        offer: offer(true, true, Some(9), Some(9)),
        server: ServerParams::default(),
        want: want(true, true, Some(9), Some(9)),
    };
    let mut plan = small_plan(3, 256 * KIB);
    plan.push(fragmented(Kind::TextRandom, 200_000, &[100_000]));
    run_callbacks(peer, &case, plan, true);
}

/// Message mode, the 4 MiB messages of the kinds [`full_plan`] sends at 1 MiB only.
fn callbacks_large(peer: Peer) {
    if !available(peer, "callbacks_large") {
        return;
    }
    let case = Case {
        name: "client offers server_no_context_takeover, 4 MiB messages",
        offer: offer(false, true, None, None),
        server: ServerParams::default(),
        want: want(false, true, None, None),
    };
    let plan = vec![
        whole(Kind::BinRepeat, 4 * MIB),
        whole(Kind::TextRandom, 4 * MIB),
        whole(Kind::Json, 1000),
        fragmented(Kind::BinRepeat, 4 * MIB, &[MIB, 0, 2 * MIB]),
    ];
    run_callbacks(peer, &case, plan, true);
}

/// Chunks to the write callback; the server requests its parameters and echoes in 16 KiB
/// fragments.
fn callbacks_chunks(peer: Peer) {
    if !available(peer, "callbacks_chunks") {
        return;
    }
    let case = Case {
        name: "server requests client_no_context_takeover and windows 11/10, echoes fragmented",
        offer: offer(false, false, None, None),
        server: ServerParams {
            fragment: 16 * KIB,
            ..server(true, false, Some(11), Some(10))
        },
        want: want(true, false, Some(11), Some(10)),
    };
    run_callbacks(peer, &case, small_plan(2, MIB), false);
}

#[test]
fn python_defaults_all_sizes() {
    defaults_all_sizes(Peer::Python);
}

#[test]
fn python_matrix_connect_only() {
    matrix_connect_only(Peer::Python);
}

#[test]
fn python_callbacks_message_mode() {
    callbacks_message_mode(Peer::Python);
}

#[test]
fn python_callbacks_large() {
    callbacks_large(Peer::Python);
}

#[test]
fn python_callbacks_chunks() {
    callbacks_chunks(Peer::Python);
}

#[test]
fn node_defaults_all_sizes() {
    defaults_all_sizes(Peer::Node);
}

#[test]
fn node_matrix_connect_only() {
    matrix_connect_only(Peer::Node);
}

#[test]
fn node_callbacks_message_mode() {
    callbacks_message_mode(Peer::Node);
}

#[test]
fn node_callbacks_large() {
    callbacks_large(Peer::Node);
}

#[test]
fn node_callbacks_chunks() {
    callbacks_chunks(Peer::Node);
}

#[test]
fn ext_answers_parse() {
    assert_eq!(parse_ext("permessage-deflate"), Ext::default());
    assert_eq!(
        parse_ext("permessage-deflate; client_max_window_bits=10; server_no_context_takeover"),
        want(false, true, Some(10), None)
    );
    assert_eq!(
        parse_ext("permessage-deflate;server_max_window_bits=\"9\";client_no_context_takeover"),
        want(true, false, None, Some(9))
    );
}
