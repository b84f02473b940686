//! Hostile WebSocket servers: every RFC 6455 / RFC 7692 violation, size attacks (a 2^63-length
//! frame header, a decompression bomb), a ping flood, an end of stream without a close frame,
//! a reset in the middle of a frame, and 101 answers with duplicate or conflicting headers.
//!
//! Every bad transfer runs in one `Multi` beside a healthy WebSocket echo session (tungstenite
//! peer) and a healthy HTTP download, which must both finish intact. The bad one must end with
//! the exact [`ErrorKind`]; where the client fails the connection, the close code it sent is
//! read on the server side; what reached the write callback must stay within the limit that
//! stopped it (the servers announce or send far more).

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use curlew::ws::DeflateConfig;
use curlew::{Ctx, Easy, ErrorKind, Flow, Handler, Multi};
use support::client::*;
use support::http_server::{keep_alive_responder, Conn, Server};
use support::ws_peer::WsPeer;
use support::ws_raw::{answer_101, frame, read_client_frame};
use support::{wait_until, TIMEOUT};

/// The healthy WebSocket neighbour: sends `n` text messages on open, closes with 1000 once all
/// came back.
struct Echo {
    n: usize,
    got: Vec<Vec<u8>>,
    cur: Vec<u8>,
}

impl Handler for Echo {
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        let mut ws = ctx.ws().unwrap();
        for i in 0..self.n {
            ws.send_text(&format!("message {i}")).unwrap();
        }
        Flow::Continue
    }
    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let meta = ctx.ws_meta().unwrap();
        if meta.is_close() {
            return Flow::Continue;
        }
        self.cur.extend_from_slice(data);
        if meta.is_message_end() {
            self.got.push(std::mem::take(&mut self.cur));
            if self.got.len() == self.n {
                ctx.ws().unwrap().close(1000, "done").unwrap();
            }
        }
        Flow::Continue
    }
}

/// Runs `bad` in one multi beside a healthy WebSocket echo session and a healthy HTTP
/// download; checks both neighbours and returns the bad transfer's outcome.
#[track_caller]
fn beside_healthy_ws(mut bad: Easy) -> Finished {
    let peer = WsPeer::echo();
    let body = pattern(300_000);
    let http = Server::start(keep_alive_responder(body.clone()));
    let mut m = Multi::new();
    bad.timeout(Some(std::time::Duration::from_secs(20)));
    let bad_id = m.add(bad);
    let echo = Easy::with_handler(
        &peer.url("/"),
        Echo {
            n: 50,
            got: Vec::new(),
            cur: Vec::new(),
        },
    )
    .unwrap();
    let echo_id = m.add(echo);
    let http_id = m.add(rec_easy(&http.url("/")));
    let mut r = finish(&mut m);
    let e = r.remove(&echo_id).unwrap();
    e.unwrap();
    let got = &e.easy.handler::<Echo>().unwrap().got;
    assert_eq!(got.len(), 50);
    assert_eq!(got[49], b"message 49");
    assert_same_bytes(r[&http_id].unwrap().body(), &body);
    r.remove(&bad_id).unwrap()
}

/// What the hostile server saw of the client: the payload of its close frame, if it sent one.
type Seen = Arc<Mutex<Option<Option<Vec<u8>>>>>;

/// Upgrades (with `extra` 101 header lines), sends `evil`, then reads client frames until a
/// close frame or EOF and records the close payload (`Some(None)`: EOF, no close frame).
fn hostile(extra: &'static str, evil: Vec<u8>) -> (Server, Seen) {
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let srv = Server::start(move |c: &mut Conn| {
        let Some(req) = c.read_request() else { return };
        let key = req.header("sec-websocket-key").unwrap_or_default();
        let _ = c.write_all(answer_101(key, extra).as_bytes());
        let _ = c.write_all(&evil);
        let mut close = None;
        while let Some((op, p)) = read_client_frame(c) {
            if op == 8 {
                close = Some(p);
                break;
            }
        }
        *s2.lock().unwrap() = Some(close);
    });
    (srv, seen)
}

fn ws_url(srv: &Server) -> String {
    srv.url("/").replace("http://", "ws://")
}

/// The close code the client sent (waits for the server to have read it).
#[track_caller]
fn close_code_sent(seen: &Seen) -> Option<u16> {
    wait_until("the server to read the client's close", TIMEOUT, || {
        seen.lock().unwrap().is_some()
    });
    let close = seen.lock().unwrap().clone().unwrap();
    close.map(|p| {
        assert!(p.len() >= 2, "close payload {p:?}");
        u16::from_be_bytes([p[0], p[1]])
    })
}

/// `evil` after the upgrade must fail the transfer with `WsProtocol` and make the client
/// close with `want_code`; returns the outcome.
#[track_caller]
fn check_with(
    extra: &'static str,
    evil: Vec<u8>,
    want_code: u16,
    configure: impl FnOnce(&mut Easy),
) -> Finished {
    let (srv, seen) = hostile(extra, evil);
    let mut e = rec_easy(&ws_url(&srv));
    configure(&mut e);
    let f = beside_healthy_ws(e);
    assert_eq!(f.kind(), Some(ErrorKind::WsProtocol), "{:?}", f.result);
    assert_eq!(close_code_sent(&seen), Some(want_code), "{:?}", f.result);
    f
}

#[track_caller]
fn check(evil: Vec<u8>, want_code: u16, configure: impl FnOnce(&mut Easy)) -> Finished {
    check_with("", evil, want_code, configure)
}

#[test]
fn masked_server_frame_1002() {
    check(
        vec![0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2],
        1002,
        |_| {},
    );
}

#[test]
fn rsv_bits_without_extension_1002() {
    check(frame(0xC1, b"x"), 1002, |_| {});
}

#[test]
fn reserved_opcode_1002() {
    check(frame(0x83, b""), 1002, |_| {});
}

#[test]
fn fragmented_control_frame_1002() {
    check(frame(0x09, b"ping"), 1002, |_| {});
}

#[test]
fn oversized_control_frame_1002() {
    let mut v = vec![0x89, 126, 0, 200];
    v.extend_from_slice(&[0u8; 200]);
    check(v, 1002, |_| {});
}

#[test]
fn stray_continuation_1002() {
    check(frame(0x80, b"orphan"), 1002, |_| {});
}

#[test]
fn missing_continuation_1002() {
    let mut v = frame(0x01, b"first half");
    v.extend(frame(0x81, b"a new message"));
    check(v, 1002, |_| {});
}

#[test]
fn invalid_close_code_1002() {
    for code in [1005u16, 1006, 1015, 999, 1016, 2999, 5000] {
        check(frame(0x88, &code.to_be_bytes()), 1002, |_| {});
    }
}

#[test]
fn close_payload_of_one_byte_1002() {
    check(frame(0x88, &[0x03]), 1002, |_| {});
}

#[test]
fn invalid_utf8_close_reason_1007() {
    let mut p = 1000u16.to_be_bytes().to_vec();
    p.extend_from_slice(b"bye \xff\xfe");
    check(frame(0x88, &p), 1007, |_| {});
}

#[test]
fn invalid_utf8_text_1007() {
    check(
        frame(
            0x81,
            &[
                0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80,
            ],
        ),
        1007,
        |_| {},
    );
}

#[test]
fn invalid_utf8_across_fragments_fails_fast_1007() {
    let mut v = frame(0x01, b"ok so far ");
    v.extend(frame(0x00, &[0xff]));
    // The final fragment never comes: the error must not wait for it.
    check(v, 1007, |_| {});
}

#[test]
fn message_over_the_limit_1009() {
    let mut v = vec![0x82, 126, 0x10, 0x00];
    v.extend_from_slice(&[7u8; 4096]);
    let f = check(v, 1009, |e| {
        e.ws_max_message_size(1000);
    });
    assert!(f.body().len() <= 1000);
}

#[test]
fn fragmented_message_over_the_limit_1009() {
    // 100 fragments of 100 bytes against a 1,000-byte message limit.
    let mut v = frame(0x02, &[1u8; 100]);
    for _ in 0..99 {
        v.extend(frame(0x00, &[1u8; 100]));
    }
    let f = check(v, 1009, |e| {
        e.ws_max_message_size(1000);
    });
    assert!(f.body().len() <= 1000, "{} bytes delivered", f.body().len());
}

#[test]
fn frame_length_2_pow_63_is_a_protocol_error_1002() {
    // The most significant bit of a 64-bit length must be 0 (RFC 6455 §5.2): 2^63 is not a
    // length at all, so this is a protocol error, not a size one.
    let mut v = vec![0x82, 127];
    v.extend_from_slice(&(1u64 << 63).to_be_bytes());
    v.extend_from_slice(&[0u8; 64]);
    let f = check(v, 1002, |_| {});
    assert!(f.body().is_empty());
}

#[test]
fn frame_length_2_pow_63_minus_1_with_default_limits_1009() {
    // The largest legal length: refused up front against the default message limit, never
    // buffered.
    let mut v = vec![0x82, 127];
    v.extend_from_slice(&((1u64 << 63) - 1).to_be_bytes());
    v.extend_from_slice(&[0u8; 64]);
    let f = check(v, 1009, |_| {});
    assert!(f.body().is_empty());
}

#[test]
fn huge_frame_header_against_the_frame_limit_1009() {
    // 2^62 bytes announced: refused up front against the frame limit, never buffered.
    let mut v = vec![0x82, 127];
    v.extend_from_slice(&(1u64 << 62).to_be_bytes());
    let f = check(v, 1009, |e| {
        e.ws_max_frame_size(1 << 20).ws_max_message_size(u64::MAX);
    });
    assert!(f.body().is_empty());
}

#[test]
fn decompression_bomb_1009() {
    // 8 MiB of zeros compressed to a few KiB, against a 1 MiB message limit. (The
    // connect-only model's bomb test is in ws_deflate.rs.)
    use flate2::{Compress, Compression, FlushCompress};
    let mut z = Compress::new(Compression::best(), false);
    let mut bomb = Vec::with_capacity(1 << 16);
    z.compress_vec(&vec![0u8; 8 << 20], &mut bomb, FlushCompress::Sync)
        .unwrap();
    assert!(bomb.ends_with(&[0, 0, 0xff, 0xff]) && bomb.len() < 20_000);
    bomb.truncate(bomb.len() - 4);
    let mut v = vec![0xC2, 126];
    v.extend((bomb.len() as u16).to_be_bytes());
    v.extend_from_slice(&bomb);
    const MAX: u64 = 1 << 20;
    let f = check_with(
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
        v,
        1009,
        |e| {
            e.ws_compress(Some(DeflateConfig::default()))
                .unwrap()
                .ws_max_message_size(MAX);
        },
    );
    assert!(
        f.body().len() as u64 <= MAX,
        "{} bytes delivered",
        f.body().len()
    );
}

#[test]
fn eof_without_a_close_frame_is_not_a_clean_close() {
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let srv = Server::start(move |c: &mut Conn| {
        let Some(req) = c.read_request() else { return };
        let key = req.header("sec-websocket-key").unwrap_or_default();
        let _ = c.write_all(answer_101(key, "").as_bytes());
        let _ = c.write_all(&frame(0x81, b"hello"));
        c.shutdown_write(); // FIN, no close frame
        let mut close = None;
        while let Some((op, p)) = read_client_frame(c) {
            if op == 8 {
                close = Some(p);
            }
        }
        *s2.lock().unwrap() = Some(close);
    });
    let f = beside_healthy_ws(rec_easy(&ws_url(&srv)));
    assert_eq!(f.kind(), Some(ErrorKind::WsProtocol), "{:?}", f.result);
    let detail = f.result.as_ref().unwrap_err().detail().unwrap_or_default();
    assert!(detail.contains("without a close handshake"), "{detail}");
    assert_eq!(f.body(), b"hello");
    // 1006 is a local status only: nothing is sent after the peer's EOF.
    assert_eq!(close_code_sent(&seen), None);
}

#[test]
fn reset_in_the_middle_of_a_frame_is_recv_error() {
    // A raw server: 101, a ping; once the pong has arrived it is left unread, then half of a
    // 1000-byte frame is sent and the socket closed with the pong still unread, so the kernel
    // answers with RST instead of FIN (RFC 2525 §2.17), no SO_LINGER needed.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(s.read(&mut b).unwrap(), 1, "request head");
            head.push(b[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let key = head
            .lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case("sec-websocket-key")
                    .then(|| v.trim().to_string())
            })
            .unwrap();
        s.write_all(answer_101(&key, "").as_bytes()).unwrap();
        s.write_all(&[0x89, 0x00]).unwrap();
        assert!(s.peek(&mut b).unwrap() > 0, "the pong");
        let mut half = vec![0x82, 126, 0x03, 0xe8];
        half.extend_from_slice(&[5u8; 500]);
        s.write_all(&half).unwrap();
        drop(s); // unread pong: RST
    });
    let f = beside_healthy_ws(rec_easy(&format!("ws://{addr}/")));
    t.join().unwrap();
    assert_eq!(f.kind(), Some(ErrorKind::RecvError), "{:?}", f.result);
    assert!(f.body().len() <= 500 && f.body().iter().all(|&b| b == 5));
}

#[test]
fn ping_flood_is_answered_within_the_send_queue_bound() {
    // 100,000 pings in one burst, written while nothing is read; then the pongs are read.
    // Every pong must echo a ping, in order, and the last ping must be answered (RFC 6455
    // §5.5.3 allows answering only the most recent one); with a small send queue most
    // pongs are replaced, not queued. The session survives: the server then closes
    // with 1000 and the client answers it.
    const PINGS: u32 = 100_000;
    /// (pongs received, last ping answered, payload of the client's close reply)
    type Tally = (u32, u32, Option<Vec<u8>>);
    let stats: Arc<Mutex<Option<Tally>>> = Arc::default();
    let s2 = stats.clone();
    let srv = Server::start(move |c: &mut Conn| {
        let Some(req) = c.read_request() else { return };
        let key = req.header("sec-websocket-key").unwrap_or_default();
        let _ = c.write_all(answer_101(key, "").as_bytes());
        let mut burst = Vec::with_capacity(PINGS as usize * 6);
        for i in 0..PINGS {
            burst.extend_from_slice(&[0x89, 4]);
            burst.extend_from_slice(&i.to_be_bytes());
        }
        if c.write_all(&burst).is_err() {
            return;
        }
        let (mut pongs, mut last) = (0u32, None::<u32>);
        while last != Some(PINGS - 1) {
            let Some((op, p)) = read_client_frame(c) else {
                break;
            };
            assert_eq!(op, 0xA, "only pongs expected");
            let i = u32::from_be_bytes(p.try_into().unwrap());
            assert!(last.is_none_or(|l| i > l), "pong {i} after {last:?}");
            last = Some(i);
            pongs += 1;
        }
        let _ = c.write_all(&frame(0x88, &1000u16.to_be_bytes()));
        let reply = read_client_frame(c).map(|(_, p)| p);
        *s2.lock().unwrap() = Some((pongs, last.unwrap_or(0), reply));
    });
    let mut e = rec_easy(&ws_url(&srv));
    e.ws_max_send_queue(1024);
    let f = beside_healthy_ws(e);
    f.unwrap();
    wait_until("the server's tally", TIMEOUT, || {
        stats.lock().unwrap().is_some()
    });
    let (pongs, last, reply) = stats.lock().unwrap().clone().unwrap();
    assert_eq!(last, PINGS - 1, "the last ping is answered");
    assert!((1..=PINGS).contains(&pongs), "{pongs}");
    assert_eq!(reply.as_deref(), Some(&1000u16.to_be_bytes()[..]));
    // Pings are answered, not delivered; only the peer's close reaches the write callback.
    assert!(f.body().len() <= 2, "{} bytes delivered", f.body().len());
}

/// A 101 answer with `extra` header lines must fail the upgrade with `WeirdServerReply`
/// whose detail contains `why`; no WebSocket frame is sent.
#[track_caller]
fn bad_101(extra: &'static str, why: &str, configure: impl FnOnce(&mut Easy)) {
    let (srv, seen) = hostile(extra, Vec::new());
    let mut e = rec_easy(&ws_url(&srv));
    configure(&mut e);
    let f = beside_healthy_ws(e);
    assert_eq!(
        f.kind(),
        Some(ErrorKind::WeirdServerReply),
        "{:?}",
        f.result
    );
    let detail = f.result.as_ref().unwrap_err().detail().unwrap_or_default();
    assert!(detail.contains(why), "{extra:?}: {detail}");
    assert_eq!(close_code_sent(&seen), None);
}

#[test]
fn upgrade_answer_with_two_accept_headers() {
    // hostile() already sends the right one; a second, wrong one follows.
    bad_101(
        "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n",
        "duplicate Sec-WebSocket-Accept",
        |_| {},
    );
}

#[test]
fn upgrade_answer_with_conflicting_upgrade_values() {
    bad_101("Upgrade: h2c\r\n", "Upgrade", |_| {});
}

#[test]
fn upgrade_answer_with_a_subprotocol_not_offered() {
    bad_101(
        "Sec-WebSocket-Protocol: superchat\r\n",
        "not offered",
        |e| {
            e.ws_protocols(&["chat"]).unwrap();
        },
    );
    // Nothing offered at all.
    bad_101("Sec-WebSocket-Protocol: chat\r\n", "not offered", |_| {});
}

#[test]
fn upgrade_answer_with_two_subprotocol_headers() {
    bad_101(
        "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: chat\r\n",
        "duplicate Sec-WebSocket-Protocol",
        |e| {
            e.ws_protocols(&["chat"]).unwrap();
        },
    );
}

#[test]
fn upgrade_answer_with_duplicate_extension_parameters() {
    bad_101(
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_no_context_takeover\r\n",
        "duplicate",
        |e| {
            e.ws_compress(Some(DeflateConfig::default())).unwrap();
        },
    );
}

#[test]
fn upgrade_answer_with_permessage_deflate_twice() {
    bad_101(
        "Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Extensions: permessage-deflate\r\n",
        "permessage-deflate",
        |e| {
            e.ws_compress(Some(DeflateConfig::default())).unwrap();
        },
    );
}

#[test]
fn upgrade_answer_with_an_extension_not_offered() {
    bad_101(
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
        "not offered",
        |_| {},
    );
}

/// Records the sizes of the whole messages delivered in message mode.
#[derive(Default)]
struct Messages(Vec<usize>);

impl Handler for Messages {
    fn ws_message(&mut self, _ctx: &mut Ctx<'_>, msg: &[u8], _frame: curlew::ws::WsFrame) -> Flow {
        self.0.push(msg.len());
        Flow::Continue
    }
}

#[test]
fn message_mode_reassembly_is_bounded_1009() {
    // A whole message is buffered in message mode: 100 fragments of 60,000 bytes (6 MB)
    // against a 64 KiB message limit fail at the second fragment; one small message first.
    let mut v = frame(0x81, b"small");
    for i in 0..100u8 {
        v.push(if i == 0 { 0x02 } else { 0x00 });
        v.push(126);
        v.extend(60_000u16.to_be_bytes());
        v.extend(std::iter::repeat_n(i, 60_000));
    }
    let (srv, seen) = hostile("", v);
    let mut e = Easy::with_handler(&ws_url(&srv), Messages::default()).unwrap();
    e.ws_message_mode(true).ws_max_message_size(64 << 10);
    let f = beside_healthy_ws(e);
    assert_eq!(f.kind(), Some(ErrorKind::WsProtocol), "{:?}", f.result);
    assert_eq!(close_code_sent(&seen), Some(1009));
    assert_eq!(f.easy.handler::<Messages>().unwrap().0, [5]);
}

#[test]
fn frames_after_the_peer_close_are_not_delivered() {
    // The server closes, then keeps talking: the client answers the close, delivers the close
    // frame only, and ends cleanly.
    let mut v = frame(0x88, &1000u16.to_be_bytes());
    v.extend(frame(0x81, b"after close"));
    v.extend(frame(0x89, b"ping after close"));
    let (srv, seen) = hostile("", v);
    let f = beside_healthy_ws(rec_easy(&ws_url(&srv)));
    f.unwrap();
    assert_eq!(close_code_sent(&seen), Some(1000));
    assert_eq!(f.body(), 1000u16.to_be_bytes());
}

#[test]
fn peer_never_answering_our_close_times_out() {
    // We close; the server reads it and holds the connection open without answering.
    struct Closer;
    impl Handler for Closer {
        fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
            ctx.ws().unwrap().close(1000, "bye").unwrap();
            Flow::Continue
        }
    }
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let srv = Server::start(move |c: &mut Conn| {
        let Some(req) = c.read_request() else { return };
        let key = req.header("sec-websocket-key").unwrap_or_default();
        let _ = c.write_all(answer_101(key, "").as_bytes());
        let close = read_client_frame(c)
            .filter(|(op, _)| *op == 8)
            .map(|(_, p)| p);
        *s2.lock().unwrap() = Some(close);
        c.read_to_eof(); // hold the connection until the client drops it
    });
    let mut e = Easy::with_handler(&ws_url(&srv), Closer).unwrap();
    e.ws_close_timeout(std::time::Duration::from_millis(300));
    let f = beside_healthy_ws(e);
    assert_eq!(
        f.kind(),
        Some(ErrorKind::OperationTimedout),
        "{:?}",
        f.result
    );
    assert_eq!(close_code_sent(&seen), Some(1000));
}

/// The application pauses at the first chunk (callback model) or the first whole message
/// (message mode); the server streams up to 256 MiB of 64 KiB frames. The client must stop
/// reading, not buffer the stream: the server's writes block after the socket buffers (a few
/// MiB) are full.
fn paused_transfer_stops_reading(message_mode: bool) {
    {
        let sent: Arc<Mutex<Option<usize>>> = Arc::default();
        let s2 = sent.clone();
        let srv = Server::start(move |c: &mut Conn| {
            let Some(req) = c.read_request() else { return };
            let key = req.header("sec-websocket-key").unwrap_or_default();
            let _ = c.write_all(answer_101(key, "").as_bytes());
            let mut f = vec![0x82, 126, 0xff, 0xf0];
            f.extend_from_slice(&[7u8; 0xfff0]);
            *s2.lock().unwrap() = Some(pump_until_blocked(c, &f));
        });
        let peer = WsPeer::echo();
        let body = pattern(300_000);
        let http = Server::start(keep_alive_responder(body.clone()));
        let mut paused = Easy::with_handler(&ws_url(&srv), PauseForever::default()).unwrap();
        paused.ws_message_mode(message_mode);
        let echo = Easy::with_handler(
            &peer.url("/"),
            Echo {
                n: 50,
                got: Vec::new(),
                cur: Vec::new(),
            },
        )
        .unwrap();
        let healthy = vec![echo, rec_easy(&http.url("/"))];
        let n = paused_beside_healthy(paused, &sent, healthy, |f| {
            f.unwrap();
            match f.easy.handler::<Echo>() {
                Some(e) => assert_eq!(e.got.len(), 50),
                None => assert_same_bytes(f.body(), &body),
            }
        });
        assert!(
            n < 64 << 20,
            "message mode {message_mode}: the server wrote {n} bytes to a paused client"
        );
    }
}

#[test]
fn a_paused_transfer_stops_reading_from_a_fast_server() {
    paused_transfer_stops_reading(false);
}

#[test]
fn a_paused_message_mode_transfer_stops_reading_from_a_fast_server() {
    paused_transfer_stops_reading(true);
}
