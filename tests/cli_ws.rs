//! End-to-end tests of the `curlew` tool in WebSocket mode (nc-like): stdin to the server, the
//! server to stdout, against tungstenite peers on loopback (ws and wss).

#![allow(clippy::result_large_err)] // tungstenite's handshake callback signature

mod support;

use std::io::Write as _;
use std::net::TcpStream;
use std::process::{Command, Output};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::http_server::{routes, Conn, Response, Server};
use support::tls::{ca_path, server_config};
use support::tool::{finish, run_with_input, spawn};
use support::ws_peer::WsPeer;
use support::ws_raw::{close_code, close_frame, read_client_frame, read_frame, upgrade, ReadFrame};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::CloseFrame;
use tungstenite::{Message, WebSocket};

/// Run with stdin left open (the tool must end by itself).
fn run_stdin_open(args: &[&str]) -> Output {
    let mut child = spawn(args);
    let stdin = child.stdin.take();
    finish(child, stdin)
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exit code")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn stdin_lines_to_text_messages_and_back() {
    let peer = WsPeer::echo();
    let o = run_with_input(
        &[&peer.url("/echo")],
        b"hello\nworld\n\nlast without newline",
    );
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "hello\nworld\n\nlast without newline\n");
}

#[test]
fn binary_mode_is_raw() {
    let peer = WsPeer::echo();
    let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let o = run_with_input(&["--ws-binary", &peer.url("/")], &data);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(o.stdout.len(), data.len());
    assert!(o.stdout == data, "binary echo differs");
}

#[test]
fn large_text_lines_survive_partial_sends() {
    let peer = WsPeer::echo();
    let line = "x".repeat(3 * 1024 * 1024);
    let input = format!("{line}\n{line}\n{line}\n{line}\n");
    let o = run_with_input(&[&peer.url("/")], input.as_bytes());
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert!(o.stdout == input.as_bytes(), "got {} bytes", o.stdout.len());
}

#[test]
fn ws_send_and_count() {
    let peer = WsPeer::echo();
    let o = run_stdin_open(&[
        "--ws-send",
        "one",
        "--ws-send",
        "two",
        "--ws-count",
        "2",
        &peer.url("/"),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "one\ntwo\n");
}

#[test]
fn ping_every_secs_and_server_pings_answered() {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let peer = WsPeer::start(move |mut ws: WebSocket<TcpStream>| {
        // Ping the client and wait for its pong, then wait for one of its pings.
        ws.send(Message::Ping(b"srv".to_vec().into())).unwrap();
        let (mut pong, mut ping) = (false, false);
        while !(pong && ping) {
            match ws.read() {
                Ok(Message::Pong(p)) => pong = &p[..] == b"srv",
                Ok(Message::Ping(_)) => ping = true,
                Ok(_) => {}
                Err(_) => return,
            }
        }
        let _ = tx.lock().unwrap().send(());
        ws.send(Message::text("done")).unwrap();
        let _ = ws.read();
    });
    let o = run_stdin_open(&["--ws-ping", "0.05", "--ws-count", "1", &peer.url("/")]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "done\n");
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
}

#[test]
fn ping_without_an_answer_ends_with_exit_28() {
    // The server never answers: the keepalive closes with 1011 and the session times out.
    let peer = support::ping_counter::PingCounter::start(false);
    let o = run_stdin_open(&["--ws-ping", "0.05", &peer.url("/")]);
    assert_eq!(code(&o), 28, "{}", text(&o.stderr));
    support::wait_until("the server to read the close", support::TIMEOUT, || {
        peer.close().is_some()
    });
    assert_eq!(peer.pings(), 1);
    assert_eq!(peer.close(), Some(Some(1011)));
}

#[test]
fn subprotocols_and_headers_in_the_handshake() {
    let seen = Arc::new(Mutex::new((String::new(), String::new())));
    let s = seen.clone();
    let peer = WsPeer::start_with(
        move |req: &tungstenite::handshake::server::Request, mut resp| {
            let h = |n: &str| {
                req.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            };
            *s.lock().unwrap() = (h("sec-websocket-protocol"), h("x-token"));
            resp.headers_mut()
                .insert("Sec-WebSocket-Protocol", "chat.v2".parse().unwrap());
            Ok(resp)
        },
        |mut ws: WebSocket<TcpStream>| {
            ws.send(Message::text("hi")).unwrap();
            let _ = ws.read();
        },
    );
    let o = run_stdin_open(&[
        "-v",
        "--ws-subprotocol",
        "chat.v1",
        "--ws-subprotocol",
        "chat.v2",
        "-H",
        "X-Token: abc",
        "--ws-count",
        "1",
        &peer.url("/"),
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "hi\n");
    let (protos, token) = seen.lock().unwrap().clone();
    assert_eq!(protos, "chat.v1, chat.v2");
    assert_eq!(token, "abc");
    assert!(text(&o.stderr).contains("chat.v2"), "{}", text(&o.stderr));
}

fn closing_peer(code: u16, reason: &'static str) -> WsPeer {
    WsPeer::start(move |mut ws: WebSocket<TcpStream>| {
        ws.send(Message::text("bye soon")).unwrap();
        let _ = ws.close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        }));
        while ws.read().is_ok() {}
    })
}

#[test]
fn server_close_codes() {
    let peer = closing_peer(4000, "going away now");
    let o = run_stdin_open(&[&peer.url("/")]);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "bye soon\n");
    assert!(
        text(&o.stderr).contains("closed: 4000 going away now"),
        "{}",
        text(&o.stderr)
    );

    let peer = closing_peer(1000, "normal");
    let o = run_stdin_open(&[&peer.url("/")]);
    assert_eq!(code(&o), 0);
    assert!(!text(&o.stderr).contains("closed:"), "{}", text(&o.stderr));
    let o = run_stdin_open(&["-v", &peer.url("/")]);
    assert_eq!(code(&o), 0);
    assert!(
        text(&o.stderr).contains("closed: 1000 normal"),
        "{}",
        text(&o.stderr)
    );
}

/// A peer that writes `raw` bytes after the upgrade and reports the close code it gets back.
fn violating_peer(raw: &'static [u8]) -> (WsPeer, mpsc::Receiver<Option<u16>>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let peer = WsPeer::start(move |mut ws: WebSocket<TcpStream>| {
        ws.get_mut().write_all(raw).unwrap();
        let code = loop {
            match ws.read() {
                Ok(Message::Close(c)) => break c.map(|c| u16::from(c.code)),
                Ok(_) => {}
                Err(_) => break None,
            }
        };
        let _ = tx.lock().unwrap().send(code);
    });
    (peer, rx)
}

#[test]
fn protocol_violation_closes_with_the_right_code_and_exits_56() {
    // A masked frame from the server: 1002.
    let (peer, rx) = violating_peer(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2]);
    let o = run_stdin_open(&["-s", &peer.url("/")]);
    assert_eq!(code(&o), 56, "{}", text(&o.stderr));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        Some(1002)
    );

    // Invalid UTF-8 in a text frame: 1007.
    let (peer, rx) = violating_peer(&[0x81, 0x02, 0xff, 0xfe]);
    let o = run_stdin_open(&["-s", &peer.url("/")]);
    assert_eq!(code(&o), 56, "{}", text(&o.stderr));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        Some(1007)
    );
}

#[test]
fn refused_upgrade_exits_22() {
    let srv = Server::start(routes(|_| Response::new(403).body("no")));
    let url = srv.url("/").replace("http:", "ws:");
    let o = run_stdin_open(&["-sS", &url]);
    assert_eq!(code(&o), 22, "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("403"), "{}", text(&o.stderr));
}

#[test]
fn wss_with_cacert() {
    let srv = Server::start_tls(server_config("server.pem", "server.key"), |c: &mut Conn| {
        if let Ok(mut ws) = tungstenite::accept(c) {
            while let Ok(m) = ws.read() {
                if (m.is_text() || m.is_binary()) && ws.send(m).is_err() {
                    return;
                }
            }
        }
    });
    let url = srv.url("/").replace("https:", "wss:");
    let ca = ca_path();
    let o = run_with_input(&["--cacert", ca.to_str().unwrap(), &url], b"secret\n");
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "secret\n");
    // Without the CA: 60.
    let o = run_with_input(&["-s", &url], b"x\n");
    assert_eq!(code(&o), 60);
}

#[test]
fn connect_errors_and_timeout() {
    let addr = support::refused_addr();
    assert_eq!(code(&run_stdin_open(&["-s", &format!("ws://{addr}/")])), 7);
    assert_eq!(
        code(&run_stdin_open(&["-s", "ws://nonexistent.invalid/"])),
        6
    );
    assert_eq!(code(&run_stdin_open(&["-s", "ws://"])), 3);
    // An idle session with -m ends with 28.
    let peer = WsPeer::echo();
    let o = run_stdin_open(&["-sS", "-m", "0.3", &peer.url("/")]);
    assert_eq!(code(&o), 28, "{}", text(&o.stderr));
}

/// `--ws-compress` offers permessage-deflate with client_max_window_bits and inflates what the
/// server compresses.
#[test]
fn ws_compress_offers_and_inflates() {
    let offer = Arc::new(Mutex::new(None::<String>));
    let o2 = offer.clone();
    let srv = Server::start(move |c: &mut Conn| {
        let Some(req) = c.read_request() else { return };
        *o2.lock().unwrap() = req.header("sec-websocket-extensions").map(str::to_string);
        let key = req
            .header("sec-websocket-key")
            .unwrap_or_default()
            .to_string();
        let accept = support::ws_accept(&key);
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
        );
        let mut z = flate2::Compress::new(flate2::Compression::default(), false);
        let mut payload = Vec::with_capacity(4096);
        z.compress_vec(b"squeezed hello", &mut payload, flate2::FlushCompress::Sync)
            .unwrap();
        payload.truncate(payload.len() - 4);
        let mut out = head.into_bytes();
        out.push(0xC1); // FIN + RSV1 + text
        out.push(payload.len() as u8);
        out.extend_from_slice(&payload);
        let _ = c.write_all(&out);
        let _ = c.read_to_eof();
    });
    let url = srv.url("/").replace("http://", "ws://");
    let o = run_stdin_open(&["--ws-compress", "--ws-count", "1", &url]);
    assert_eq!(code(&o), 0, "stderr: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "squeezed hello\n");
    drop(srv);
    let offered = offer.lock().unwrap().clone().unwrap_or_default();
    assert!(offered.contains("permessage-deflate"), "{offered}");
    assert!(offered.contains("client_max_window_bits"), "{offered}");
}

/// `--help` describes the WebSocket flags as they behave (none is "not supported").
#[test]
fn help_text_is_current() {
    let o = Command::new(env!("CARGO_BIN_EXE_curlew"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    let help = text(&o.stdout);
    assert!(!help.contains("not supported"), "{help}");
    // clap puts a flag's text on its line or, when the flags are long, on the next ones.
    let lines: Vec<&str> = help.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("--ws-compress"))
        .unwrap();
    let compress = lines[at..(at + 3).min(lines.len())].join(" ");
    assert!(compress.contains("permessage-deflate"), "{compress}");
}

/// A server that upgrades and then reads nothing: the tool must stop reading stdin once its
/// send queue is full (backpressure), not take all of it into memory. The test writes 256 MiB
/// of lines without blocking; once the pipe stays full for 2 s the tool has stopped reading,
/// and what it took must be far below the total (the send queue, the socket buffers and a few
/// 64 KiB pieces: about 10 MiB).
#[test]
fn stdin_is_not_read_while_the_server_reads_nothing() {
    use mio::unix::pipe;
    use mio::{Events, Interest, Poll, Token};

    const TOTAL: usize = 256 << 20;
    const BOUND: usize = 48 << 20;
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let stop_rx = Mutex::new(stop_rx);
    let srv = Server::start(move |c: &mut Conn| {
        if upgrade(c) {
            // Never read; hold the connection until the test is over.
            let _ = stop_rx
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(60));
        }
    });
    let url = srv.url("/").replace("http://", "ws://");
    let mut child = spawn(&["-s", &url]);
    let mut tx = pipe::Sender::from(child.stdin.take().unwrap());
    tx.set_nonblocking(true).unwrap();
    let mut poll = Poll::new().unwrap();
    poll.registry()
        .register(&mut tx, Token(0), Interest::WRITABLE)
        .unwrap();
    let mut events = Events::with_capacity(4);
    let chunk = [[b'x'; 1023].as_slice(), b"\n"].concat().repeat(64);
    let (mut written, mut pos) = (0, 0);
    while written < TOTAL {
        match tx.write(&chunk[pos..]) {
            Ok(n) => {
                written += n;
                pos = (pos + n) % chunk.len();
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                // The pipe is full: wait (bounded) for the tool to read more.
                poll.poll(&mut events, Some(Duration::from_secs(2)))
                    .unwrap();
                if events.is_empty() {
                    break;
                }
            }
            Err(e) => panic!("writing the tool's stdin: {e}"),
        }
    }
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    drop(stop_tx);
    assert!(running, "the tool ended");
    assert!(
        written < BOUND,
        "the tool took {written} bytes of stdin while the server read nothing"
    );
}

/// We close at the end of stdin; the server reads our CLOSE and never answers. The library's
/// close timeout (5 s) ends the session: exit 28, said on stderr.
#[test]
fn server_never_answering_our_close_exits_28() {
    type Frames = Arc<Mutex<Vec<(u8, Vec<u8>)>>>;
    let seen: Frames = Arc::default();
    let s2 = seen.clone();
    let srv = Server::start(move |c: &mut Conn| {
        if !upgrade(c) {
            return;
        }
        while let Some((op, payload)) = read_client_frame(c) {
            s2.lock().unwrap().push((op, payload));
            if op == 8 {
                break;
            }
        }
        c.read_to_eof(); // hold the connection until the client drops it
    });
    let url = srv.url("/").replace("http://", "ws://");
    let o = run_with_input(&[&url], b"hello\n");
    assert_eq!(code(&o), 28, "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("(28)") && err.contains("close"), "{err}");
    assert_eq!(
        *seen.lock().unwrap(),
        vec![(1, b"hello".to_vec()), (8, 1000u16.to_be_bytes().to_vec())]
    );
}

/// The server closes (1001) while a long line is being sent: the tool finishes the frame in
/// flight, then answers the close (RFC 6455 §5.5.1), and exits 0. Every frame the server sees
/// is whole; the line is not sent on after the close.
#[test]
fn server_close_mid_line_finishes_the_frame_then_answers() {
    const LINE: usize = 32 << 20;
    let seen: Arc<Mutex<Option<Vec<ReadFrame>>>> = Arc::default();
    let s2 = seen.clone();
    let srv = Server::start(move |c: &mut Conn| {
        if !upgrade(c) {
            return;
        }
        let (mut got, mut total, mut closed) = (Vec::new(), 0, false);
        loop {
            let r = read_frame(c);
            let end = !matches!(&r, ReadFrame::Frame(f) if f.opcode != 8);
            if let ReadFrame::Frame(f) = &r {
                total += f.payload.len();
            }
            got.push(r);
            if end {
                break;
            }
            if !closed && total >= 1 << 20 {
                c.write_all(&close_frame(1001)).unwrap();
                closed = true;
            }
        }
        *s2.lock().unwrap() = Some(got);
    });
    let url = srv.url("/").replace("http://", "ws://");
    let mut input = vec![b'x'; LINE];
    input.push(b'\n');
    let o = run_with_input(&[&url], &input);
    assert_eq!(code(&o), 0, "{}", text(&o.stderr));
    support::wait_until("the server's report", support::TIMEOUT, || {
        seen.lock().unwrap().is_some()
    });
    let got = seen.lock().unwrap().take().unwrap();
    let (last, data) = got.split_last().unwrap();
    match last {
        ReadFrame::Frame(f) if f.opcode == 8 => assert_eq!(close_code(&f.payload), Some(1001)),
        other => panic!("expected our close after whole frames, got {other:?}"),
    }
    let mut total = 0;
    for (i, r) in data.iter().enumerate() {
        let ReadFrame::Frame(f) = r else {
            panic!("frame {i}: {r:?}")
        };
        // The first fragment is TEXT, the others continuations; the line is unfinished.
        assert_eq!((f.opcode, f.fin), (if i == 0 { 1 } else { 0 }, false));
        assert!(f.payload.len() <= 64 << 10 && f.payload.iter().all(|&b| b == b'x'));
        total += f.payload.len();
    }
    assert!((1 << 20..LINE).contains(&total), "{total} bytes sent");
}
