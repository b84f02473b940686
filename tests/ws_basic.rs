//! WebSocket transfers against an independent peer (tungstenite in the server role) and
//! scripted servers for the upgrade edge cases.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use curlew::ws::{WsError, BINARY, CONT, TEXT};
use curlew::{Ctx, Easy, ErrorKind, Flow, Handler, Multi, TransferId};
use support::http_server::Server;
use support::ws_peer::WsPeer;

/// Runs the multi until `id` reports, bounded.
fn wait_done(m: &mut Multi, id: TransferId) -> curlew::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        while let Some(msg) = m.info_read() {
            if msg.id == id {
                return msg.result;
            }
        }
        assert!(Instant::now() < deadline, "transfer did not finish: {m:?}");
        m.poll(Some(Duration::from_millis(100))).unwrap();
    }
}

/// Sends `msgs` on open, collects what comes back, closes after `msgs.len()` messages.
#[derive(Default)]
struct Echo {
    send: Vec<(Vec<u8>, u32)>,
    got: Vec<(Vec<u8>, u32)>,
    cur: Vec<u8>,
    chunks: Vec<(u32, u64, u64, usize)>,
}

impl Handler for Echo {
    fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
        let mut ws = ctx.ws().unwrap();
        for (m, flags) in &self.send {
            assert_eq!(ws.send(m, *flags).unwrap(), m.len());
        }
        Flow::Continue
    }
    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let meta = ctx.ws_meta().expect("meta inside a ws write callback");
        assert_eq!(meta.len, data.len());
        self.chunks
            .push((meta.flags, meta.offset, meta.bytesleft, meta.len));
        if meta.is_close() {
            return Flow::Continue;
        }
        self.cur.extend_from_slice(data);
        if meta.is_message_end() {
            self.got.push((std::mem::take(&mut self.cur), meta.flags));
            if self.got.len() == self.send.len() {
                ctx.ws().unwrap().close(1000, "bye").unwrap();
            }
        }
        Flow::Continue
    }
}

#[test]
fn callback_echo_every_size_class() {
    let peer = WsPeer::echo();
    let sizes = [0usize, 1, 125, 126, 65535, 65536, 1 << 20];
    let send: Vec<(Vec<u8>, u32)> = sizes
        .iter()
        .map(|&n| ((0..n).map(|i| (i % 251) as u8).collect(), BINARY))
        .chain(std::iter::once((b"hello text".to_vec(), TEXT)))
        .collect();
    let mut m = Multi::new();
    let id = m.add(
        Easy::with_handler(
            &peer.url("/echo"),
            Echo {
                send: send.clone(),
                ..Default::default()
            },
        )
        .unwrap(),
    );
    wait_done(&mut m, id).expect("clean close");
    let easy = m.remove(id).unwrap();
    assert_eq!(easy.info().response_code, 101);
    let h = easy.handler::<Echo>().unwrap();
    assert_eq!(h.got.len(), send.len());
    for ((got, gflags), (want, wflags)) in h.got.iter().zip(&send) {
        assert_eq!(got.len(), want.len());
        assert!(got == want, "payload differs");
        assert_eq!(gflags & (TEXT | BINARY), *wflags);
    }
    // offset + len + bytesleft is constant within a frame.
    for w in h.chunks.windows(2) {
        let (f0, o0, b0, l0) = w[0];
        let (_, o1, b1, l1) = w[1];
        if b0 > 0 {
            assert_eq!(o1, o0 + l0 as u64, "offsets continue within a frame ({f0})");
            assert_eq!(b1 + l1 as u64, b0);
        }
    }
}

#[test]
fn buffer_size_bounds_frame_chunks() {
    // CURLOPT_BUFFERSIZE for WebSocket frames: a 1 MiB message echoed through a 16 KiB
    // buffer arrives whole, in chunks of at most 16 KiB.
    let peer = WsPeer::echo();
    let msg: Vec<u8> = (0..1usize << 20).map(|i| (i % 253) as u8).collect();
    let mut easy = Easy::with_handler(
        &peer.url("/echo"),
        Echo {
            send: vec![(msg.clone(), BINARY)],
            ..Default::default()
        },
    )
    .unwrap();
    easy.buffer_size(16 * 1024);
    let mut m = Multi::new();
    let id = m.add(easy);
    wait_done(&mut m, id).expect("clean close");
    let easy = m.remove(id).unwrap();
    let h = easy.handler::<Echo>().unwrap();
    assert_eq!(h.got.len(), 1);
    assert!(h.got[0].0 == msg, "payload differs");
    let largest = h.chunks.iter().map(|c| c.3).max().unwrap();
    assert!(largest <= 16 * 1024, "a chunk of {largest} bytes");
}

#[test]
fn fragmented_send_arrives_as_one_message() {
    let peer = WsPeer::echo();
    struct Frag(Vec<u8>, bool, bool);
    impl Handler for Frag {
        fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
            let mut ws = ctx.ws().unwrap();
            ws.send(b"hel", TEXT | CONT).unwrap();
            ws.ping(b"between fragments").unwrap();
            ws.send(b"lo ", TEXT | CONT).unwrap();
            ws.send(b"world", TEXT).unwrap();
            Flow::Continue
        }
        fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
            let meta = ctx.ws_meta().unwrap();
            if meta.is_close() {
                return Flow::Continue;
            }
            if meta.flags & curlew::ws::PONG != 0 {
                assert_eq!(data, b"between fragments");
                self.2 = true;
                return Flow::Continue;
            }
            assert!(meta.is_text());
            self.0.extend_from_slice(data);
            if meta.is_message_end() && !self.1 {
                self.1 = true;
                ctx.ws().unwrap().close(1000, "").unwrap();
            }
            Flow::Continue
        }
    }
    let mut m = Multi::new();
    let id = m.add(Easy::with_handler(&peer.url("/"), Frag(Vec::new(), false, false)).unwrap());
    wait_done(&mut m, id).unwrap();
    let e = m.remove(id).unwrap();
    let h = e.handler::<Frag>().unwrap();
    assert_eq!(h.0, b"hello world");
    assert!(h.2, "the pong to our mid-message ping came back");
}

#[test]
fn connect_only_send_and_recv() {
    let peer = WsPeer::echo();
    let mut m = Multi::new();
    let mut e = Easy::new(&peer.url("/co")).unwrap();
    e.connect_only(true);
    let id = m.add(e);
    wait_done(&mut m, id).expect("upgrade done");
    assert_eq!(m.info(id).unwrap().response_code, 101);
    assert_eq!(m.ws(id).unwrap().send_text("ping me back").unwrap(), 12);
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        m.poll(Some(Duration::from_millis(50))).unwrap();
        let mut ws = m.ws(id).unwrap();
        match ws.recv() {
            Ok((frame, data)) => break (frame, data.to_vec()),
            Err(WsError::WouldBlock) => {}
            Err(e) => panic!("recv: {e}"),
        }
        assert!(Instant::now() < deadline, "no echo");
    };
    assert!(got.0.is_text());
    assert_eq!(got.1, b"ping me back");
    m.ws(id).unwrap().close(1000, "done").unwrap();
}

#[test]
fn connect_only_after_the_close_handshake_recv_and_send_say_closed() {
    let peer = WsPeer::echo();
    let mut m = Multi::new();
    let mut e = Easy::new(&peer.url("/co")).unwrap();
    e.connect_only(true);
    let id = m.add(e);
    wait_done(&mut m, id).expect("upgrade done");
    m.ws(id).unwrap().close(1000, "bye").unwrap();
    // The peer's close comes back through recv; the next turn ends the transfer cleanly, and
    // the handle says so (not "not a WebSocket").
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut echoed = false;
    loop {
        m.poll(Some(Duration::from_millis(50))).unwrap();
        match m.ws(id).unwrap().recv() {
            Ok((frame, _)) => {
                assert!(frame.is_close());
                echoed = true;
            }
            Err(WsError::WouldBlock) => assert!(!echoed, "recv after the close"),
            Err(WsError::Closed) => break,
            Err(e) => panic!("recv: {e}"),
        }
        assert!(Instant::now() < deadline, "no close");
    }
    assert!(echoed);
    assert!(matches!(
        m.ws(id).unwrap().send_text("late"),
        Err(WsError::Closed)
    ));
    assert!(
        m.info_read().is_none(),
        "one completion message, at the upgrade"
    );
}

#[test]
fn broadcast_from_one_callback_to_many() {
    let peer = WsPeer::echo();
    const N: usize = 100;
    let ids: Arc<Mutex<Vec<TransferId>>> = Arc::default();
    struct Caster {
        ids: Arc<Mutex<Vec<TransferId>>>,
        lead: bool,
        got: usize,
    }
    impl Handler for Caster {
        fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
            if self.lead {
                ctx.ws().unwrap().send_text("go").unwrap();
            }
            Flow::Continue
        }
        fn write(&mut self, ctx: &mut Ctx<'_>, _data: &[u8]) -> Flow {
            let meta = ctx.ws_meta().unwrap();
            if meta.is_close() {
                return Flow::Continue;
            }
            self.got += 1;
            if self.lead && self.got == 1 {
                // Our own echo came back: broadcast to every other transfer.
                let ids = self.ids.lock().unwrap().clone();
                for id in ids {
                    if id != ctx.id() {
                        ctx.ws_of(id).unwrap().send_text("broadcast").unwrap();
                    }
                }
            }
            ctx.ws().unwrap().close(1000, "").unwrap();
            Flow::Continue
        }
    }
    let mut m = Multi::new();
    // Open the followers first, then the leader once they are all established.
    for _ in 0..N {
        let id = m.add(
            Easy::with_handler(
                &peer.url("/"),
                Caster {
                    ids: ids.clone(),
                    lead: false,
                    got: 0,
                },
            )
            .unwrap(),
        );
        ids.lock().unwrap().push(id);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while (0..N).any(|i| m.info(ids.lock().unwrap()[i]).unwrap().response_code != 101) {
        m.poll(Some(Duration::from_millis(50))).unwrap();
        assert!(Instant::now() < deadline);
    }
    let lead = m.add(
        Easy::with_handler(
            &peer.url("/"),
            Caster {
                ids: ids.clone(),
                lead: true,
                got: 0,
            },
        )
        .unwrap(),
    );
    m.run().unwrap();
    let mut ok = 0;
    while let Some(msg) = m.info_read() {
        msg.result.unwrap();
        ok += 1;
    }
    assert_eq!(ok, N + 1);
    for id in ids.lock().unwrap().iter().chain([&lead]) {
        assert_eq!(m.remove(*id).unwrap().handler::<Caster>().unwrap().got, 1);
    }
}

#[test]
fn non_101_answer_is_http_returned_error() {
    let srv = Server::start(support::http_server::keep_alive_responder(b"no".to_vec()));
    let url = srv.url("/").replace("http://", "ws://");
    let mut e = Easy::new(&url).unwrap();
    let err = e.perform().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HttpReturnedError);
    assert_eq!(e.info().response_code, 200);
}

#[test]
fn bad_accept_is_rejected() {
    let srv = Server::start(|c: &mut support::http_server::Conn| {
        if c.read_request().is_some() {
            let _ = c.write_all(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
            );
        }
    });
    let mut e = Easy::new(&srv.url("/").replace("http://", "ws://")).unwrap();
    let err = e.perform().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WeirdServerReply, "{err}");
}

#[test]
fn bytes_with_the_101_are_not_lost() {
    let srv = Server::start(|c: &mut support::http_server::Conn| {
        if let Some(req) = c.read_request() {
            let key = req.header("sec-websocket-key").unwrap().to_string();
            let accept = support::ws_accept(&key);
            let mut out = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            )
            .into_bytes();
            out.extend_from_slice(&[0x81, 5]);
            out.extend_from_slice(b"early");
            out.extend_from_slice(&[0x88, 2, 0x03, 0xe8]);
            let _ = c.write_all(&out);
            let _ = c.read_to_eof();
        }
    });
    #[derive(Default)]
    struct Got(Vec<u8>);
    impl Handler for Got {
        fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
            if ctx.ws_meta().unwrap().is_text() {
                self.0.extend_from_slice(data);
            }
            Flow::Continue
        }
    }
    let mut e =
        Easy::with_handler(&srv.url("/").replace("http://", "ws://"), Got::default()).unwrap();
    e.perform().expect("server closed cleanly with 1000");
    assert_eq!(e.handler::<Got>().unwrap().0, b"early");
}

#[test]
fn read_callback_sends_frames_including_zero_length() {
    let peer = WsPeer::start(|mut ws| {
        // Record what arrives, then close.
        let mut got = Vec::new();
        while let Ok(m) = ws.read() {
            match m {
                tungstenite::Message::Binary(b) => got.push((false, b.to_vec())),
                tungstenite::Message::Text(t) => got.push((true, t.as_bytes().to_vec())),
                tungstenite::Message::Close(_) => break,
                _ => {}
            }
            if got.len() == 3 {
                let summary: Vec<String> = got
                    .iter()
                    .map(|(t, b)| format!("{}:{}", if *t { "T" } else { "B" }, b.len()))
                    .collect();
                let _ = ws.send(tungstenite::Message::text(summary.join(",")));
                let _ = ws.close(None);
            }
        }
        let _ = ws.flush();
    });
    /// Step 0: a plain 5-byte read (one BINARY frame); 1: start_frame(TEXT, 0) and return 0
    /// (a zero-length frame, not EOF); 2: start_frame(TEXT, 3) then "abc"; then EOF.
    struct Reader {
        step: usize,
        summary: Option<String>,
    }
    impl Handler for Reader {
        fn read(&mut self, ctx: &mut Ctx<'_>, buf: &mut [u8]) -> curlew::ReadResult {
            self.step += 1;
            match self.step {
                1 => {
                    buf[..5].copy_from_slice(b"12345");
                    curlew::ReadResult::Data(5)
                }
                2 => {
                    ctx.ws().unwrap().start_frame(TEXT, 0).unwrap();
                    curlew::ReadResult::Data(0)
                }
                3 => {
                    ctx.ws().unwrap().start_frame(TEXT, 3).unwrap();
                    buf[..3].copy_from_slice(b"abc");
                    curlew::ReadResult::Data(3)
                }
                _ => curlew::ReadResult::Data(0),
            }
        }
        fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
            if ctx.ws_meta().unwrap().is_text() {
                self.summary = Some(String::from_utf8_lossy(data).into_owned());
            }
            Flow::Continue
        }
    }
    let mut e = Easy::with_handler(
        &peer.url("/"),
        Reader {
            step: 0,
            summary: None,
        },
    )
    .unwrap();
    e.upload(None);
    e.perform().unwrap();
    assert_eq!(
        e.handler::<Reader>().unwrap().summary.as_deref(),
        Some("B:5,T:0,T:3")
    );
}

#[test]
fn ws_writable_resumes_a_send_cut_short_by_the_queue_bound() {
    const MSG: usize = 1 << 20;
    const COUNT: usize = 8;
    // The peer reports how many bytes it got in each message, then closes.
    let peer = WsPeer::start(|mut ws| {
        let mut sizes = Vec::new();
        while let Ok(m) = ws.read() {
            if let tungstenite::Message::Binary(b) = m {
                sizes.push(b.len().to_string());
                if sizes.len() == COUNT {
                    let _ = ws.send(tungstenite::Message::text(sizes.join(",")));
                }
            }
        }
    });
    struct Pump {
        payload: Vec<u8>,
        sent_msgs: usize,
        offset: usize,
        wakeups: usize,
        report: Option<String>,
    }
    impl Pump {
        fn pump(&mut self, ctx: &mut Ctx<'_>) {
            let mut ws = ctx.ws().unwrap();
            while self.sent_msgs < COUNT {
                let flags = if self.offset == 0 { BINARY } else { 0 };
                match ws.send(&self.payload[self.offset..], flags) {
                    Ok(n) => self.offset += n,
                    Err(WsError::WouldBlock) => return,
                    Err(e) => panic!("{e}"),
                }
                if self.offset < MSG {
                    return; // cut short: wait for ws_writable
                }
                self.offset = 0;
                self.sent_msgs += 1;
            }
        }
    }
    impl Handler for Pump {
        fn ws_open(&mut self, ctx: &mut Ctx<'_>) -> Flow {
            self.pump(ctx);
            Flow::Continue
        }
        fn ws_writable(&mut self, ctx: &mut Ctx<'_>) {
            self.wakeups += 1;
            self.pump(ctx);
        }
        fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
            if ctx.ws_meta().unwrap().is_text() {
                self.report = Some(String::from_utf8_lossy(data).into_owned());
                ctx.ws().unwrap().close(1000, "").unwrap();
            }
            Flow::Continue
        }
    }
    let mut e = Easy::with_handler(
        &peer.url("/"),
        Pump {
            payload: vec![0x5a; MSG],
            sent_msgs: 0,
            offset: 0,
            wakeups: 0,
            report: None,
        },
    )
    .unwrap();
    e.ws_max_send_queue(64 * 1024);
    e.perform().unwrap();
    let p = e.handler::<Pump>().unwrap();
    assert_eq!(p.sent_msgs, COUNT);
    assert!(
        p.wakeups >= COUNT,
        "resumed from ws_writable ({} times)",
        p.wakeups
    );
    let want = vec![MSG.to_string(); COUNT].join(",");
    assert_eq!(p.report.as_deref(), Some(want.as_str()));
}

/// What a scripted server saw on one connection: the `Sec-WebSocket-Key` and the masking key of
/// every frame up to the client's Close.
type Keys = Arc<Mutex<Vec<(String, Vec<[u8; 4]>)>>>;

/// RFC 6455 §4.1 and §5.3: every connection, in one multi or in two, gets its own handshake
/// nonce and masking keys that repeat nothing any other connection used (the engine's
/// generator, keyed by the OS and forked per connection; a shared or fixed seed would repeat
/// sequences here).
#[test]
fn handshake_nonces_and_masks_are_fresh_per_connection() {
    const FRAMES: usize = 16;
    let seen: Keys = Arc::default();
    let s2 = seen.clone();
    let srv = Server::start(move |c: &mut support::http_server::Conn| {
        let Some(req) = c.read_request() else { return };
        let nonce = req
            .header("sec-websocket-key")
            .unwrap_or_default()
            .to_owned();
        let accept = support::ws_accept(&nonce);
        let _ = c.write_all(
            format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            )
            .as_bytes(),
        );
        let mut masks = Vec::new();
        // Short frames only (< 126 bytes): 2 header bytes, the key, the payload.
        while let Ok(h) = c.read_exact_bytes(2) {
            let Ok(key) = c.read_exact_bytes(4) else {
                break;
            };
            masks.push([key[0], key[1], key[2], key[3]]);
            if c.read_exact_bytes(usize::from(h[1] & 0x7f)).is_err() || h[0] & 0x0f == 8 {
                break;
            }
        }
        s2.lock().unwrap().push((nonce, masks));
    });
    let url = srv.url("/").replace("http://", "ws://");
    let open = |m: &mut Multi| {
        let mut e = Easy::new(&url).unwrap();
        e.connect_only(true);
        m.add(e)
    };
    let (mut a, mut b) = (Multi::new(), Multi::new());
    let conns = [(open(&mut a), 0), (open(&mut a), 0), (open(&mut b), 1)];
    let mut multis = [a, b];
    // Both of `a`'s upgrades may report in the same poll: collect every message.
    let mut upgraded = std::collections::HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while upgraded.len() < conns.len() {
        assert!(Instant::now() < deadline, "upgrades did not finish");
        for (i, m) in multis.iter_mut().enumerate() {
            m.poll(Some(Duration::from_millis(10))).unwrap();
            while let Some(msg) = m.info_read() {
                msg.result.expect("upgrade");
                upgraded.insert((i, msg.id));
            }
        }
    }
    for &(id, i) in &conns {
        let mut ws = multis[i].ws(id).unwrap();
        for n in 0..FRAMES - 1 {
            ws.send_binary(&[n as u8; 20]).unwrap();
        }
        ws.close(1000, "").unwrap();
    }
    support::wait_until(
        "the server saw every frame",
        Duration::from_secs(20),
        || {
            for m in &mut multis {
                m.poll(Some(Duration::ZERO)).unwrap();
            }
            seen.lock().unwrap().len() == conns.len()
        },
    );
    let seen = seen.lock().unwrap();
    let mut nonces: Vec<&String> = seen.iter().map(|(n, _)| n).collect();
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), conns.len(), "{seen:?}");
    let mut masks: Vec<[u8; 4]> = seen.iter().flat_map(|(_, m)| m.clone()).collect();
    assert_eq!(masks.len(), conns.len() * FRAMES, "{seen:?}");
    masks.sort_unstable();
    masks.dedup();
    // 48 keys drawn from 2^32: a repeat by chance has probability ~3e-7.
    assert_eq!(masks.len(), conns.len() * FRAMES, "a masking key repeated");
}

#[test]
fn an_ended_callback_transfer_refuses_sends() {
    // The callback model: once a transfer has ended (here by its total timeout, with the
    // session still open), a send on it from outside or from another transfer's callback
    // answers `Closed` instead of queueing into a dead session.
    let peer = WsPeer::start(|mut ws| while ws.read().is_ok() {});
    let mut m = Multi::new();
    let mut e = Easy::new(&peer.url("/")).unwrap();
    e.timeout(Some(Duration::from_millis(100)));
    let id = m.add(e);
    let err = wait_done(&mut m, id).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OperationTimedout);
    let mut ws = m.ws(id).unwrap();
    assert!(matches!(ws.send_text("late"), Err(WsError::Closed)));
    assert_eq!(ws.queued(), 0);
}
