//! permessage-deflate (RFC 7692) end to end, against scripted servers that compress and
//! inflate with flate2 directly (tungstenite 0.29 has no permessage-deflate): the offer, the
//! negotiation matrix, compressed messages in both directions with and without context
//! takeover, fragments, RSV1 rules and a decompression bomb.
//!
//! The connect-only model is used ([`curlew::ws::WsHandle::recv`]). The callback model's
//! bomb, beside healthy neighbours, is in `hostile_ws.rs`.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use curlew::ws::{DeflateConfig, WsError, BINARY, CONT, TEXT};
use curlew::{Ctx, Easy, ErrorKind, Flow, Handler, Multi, TransferId};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use support::http_server::{Conn, Server};

fn wait_done(m: &mut Multi, id: TransferId) -> curlew::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        while let Some(msg) = m.info_read() {
            if msg.id == id {
                return msg.result;
            }
        }
        assert!(Instant::now() < deadline, "transfer did not finish");
        m.poll(Some(Duration::from_millis(50))).unwrap();
    }
}

/// Reads the upgrade request, records its offer, answers 101 with `ext` (if any).
fn upgrade(c: &mut Conn, ext: Option<&str>, offer: &Mutex<Option<String>>) -> bool {
    let Some(req) = c.read_request() else {
        return false;
    };
    *offer.lock().unwrap() = req.header("sec-websocket-extensions").map(str::to_string);
    let accept = support::ws_accept(req.header("sec-websocket-key").unwrap());
    let mut resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
    );
    if let Some(e) = ext {
        resp.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
    }
    resp.push_str("\r\n");
    c.write_all(resp.as_bytes()).is_ok()
}

/// An unmasked server frame.
fn frame(fin: bool, rsv1: bool, op: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![(u8::from(fin) << 7) | (u8::from(rsv1) << 6) | op];
    match payload.len() {
        n if n < 126 => v.push(n as u8),
        n if n <= 0xffff => {
            v.push(126);
            v.extend((n as u16).to_be_bytes());
        }
        n => {
            v.push(127);
            v.extend((n as u64).to_be_bytes());
        }
    }
    v.extend_from_slice(payload);
    v
}

/// Reads one client frame: (fin, rsv1, opcode, unmasked payload).
fn read_frame(c: &mut Conn) -> Option<(bool, bool, u8, Vec<u8>)> {
    let h = c.read_exact_bytes(2).ok()?;
    let mut len = u64::from(h[1] & 0x7f);
    if len == 126 {
        let b = c.read_exact_bytes(2).ok()?;
        len = u64::from(u16::from_be_bytes([b[0], b[1]]));
    } else if len == 127 {
        let b = c.read_exact_bytes(8).ok()?;
        len = u64::from_be_bytes(b.try_into().unwrap());
    }
    assert!(h[1] & 0x80 != 0, "client frames are masked");
    let key = c.read_exact_bytes(4).ok()?;
    let mut p = c.read_exact_bytes(len as usize).ok()?;
    for (i, b) in p.iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
    Some((h[0] & 0x80 != 0, h[0] & 0x40 != 0, h[0] & 0x0f, p))
}

/// Server-side deflater: sync flush, tail stripped at message end.
fn deflate(z: &mut Compress, data: &[u8], end: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 1024);
    z.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
    if end && out.ends_with(&[0, 0, 0xff, 0xff]) {
        out.truncate(out.len() - 4);
    }
    out
}

fn inflate(d: &mut Decompress, data: &[u8]) -> Vec<u8> {
    let mut input = data.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut out = Vec::with_capacity(1 << 20);
    let mut pos = 0;
    loop {
        let before = d.total_in();
        d.decompress_vec(&input[pos..], &mut out, FlushDecompress::Sync)
            .unwrap();
        pos += (d.total_in() - before) as usize;
        if pos >= input.len() && out.len() < out.capacity() {
            return out;
        }
        out.reserve(out.capacity());
    }
}

fn ws_url(srv: &Server) -> String {
    srv.url("/").replace("http://", "ws://")
}

/// Connects (connect-only) with `cfg`; returns the multi, the id and the upgrade result.
fn connect(
    srv: &Server,
    cfg: Option<DeflateConfig>,
    max_msg: u64,
) -> (Multi, TransferId, curlew::Result<()>) {
    let mut m = Multi::new();
    let mut e = Easy::new(&ws_url(srv)).unwrap();
    e.connect_only(true).ws_max_message_size(max_msg);
    e.ws_compress(cfg).unwrap();
    let id = m.add(e);
    let r = wait_done(&mut m, id);
    (m, id, r)
}

/// Receives whole messages (type flags, payload) until `n` arrived or an error.
fn recv_messages(m: &mut Multi, id: TransferId, n: usize) -> Result<Vec<(u32, Vec<u8>)>, WsError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut out = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    while out.len() < n {
        assert!(Instant::now() < deadline, "messages did not arrive");
        let mut ws = m.ws(id).unwrap();
        match ws.recv() {
            Ok((f, data)) => {
                assert_eq!(f.len, data.len());
                if f.flags & (TEXT | BINARY) == 0 {
                    continue;
                }
                assert_eq!(f.offset, cur.len() as u64, "offset in the inflated message");
                cur.extend_from_slice(data);
                if f.is_message_end() {
                    out.push((f.flags & !CONT, std::mem::take(&mut cur)));
                }
            }
            Err(WsError::WouldBlock) => {
                m.poll(Some(Duration::from_millis(20))).unwrap();
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

fn json(n: usize) -> Vec<u8> {
    let unit = br#"{"id":1234,"name":"curlew","tags":["a","b"],"ok":true},"#;
    unit.iter().copied().cycle().take(n).collect()
}

#[test]
fn offer_reflects_the_configuration() {
    let offer = Arc::new(Mutex::new(None));
    let o = offer.clone();
    let srv = Server::start(move |c: &mut Conn| {
        if upgrade(c, None, &o) {
            let _ = c.read_to_eof();
        }
    });
    for (cfg, want) in [
        (None, None),
        (
            Some(DeflateConfig::default()),
            Some("permessage-deflate; client_max_window_bits"),
        ),
        (
            Some(DeflateConfig {
                client_no_context_takeover: true,
                server_no_context_takeover: true,
                client_max_window_bits: Some(12),
                server_max_window_bits: Some(10),
                threshold: 0,
                level: None,
            }),
            Some(
                "permessage-deflate; client_no_context_takeover; server_no_context_takeover; \
                 client_max_window_bits=12; server_max_window_bits=10",
            ),
        ),
    ] {
        let (_m, _id, r) = connect(&srv, cfg, 1 << 20);
        r.unwrap();
        assert_eq!(offer.lock().unwrap().as_deref(), want);
    }
    let mut e = Easy::new(&ws_url(&srv)).unwrap();
    let bad = DeflateConfig {
        client_max_window_bits: Some(16),
        ..DeflateConfig::default()
    };
    assert_eq!(
        e.ws_compress(Some(bad)).unwrap_err().kind(),
        ErrorKind::BadFunctionArgument
    );
}

#[test]
fn negotiation_matrix() {
    let offered = DeflateConfig {
        server_max_window_bits: Some(12),
        client_max_window_bits: Some(12),
        ..DeflateConfig::default()
    };
    for (answer, ok) in [
        ("permessage-deflate", true),
        ("permessage-deflate; server_no_context_takeover", true),
        ("permessage-deflate; client_no_context_takeover", true),
        ("permessage-deflate; server_max_window_bits=9", true),
        ("permessage-deflate; client_max_window_bits=10", true),
        ("permessage-deflate; client_max_window_bits=8", true),
        ("permessage-deflate; server_max_window_bits=13", false),
        ("permessage-deflate; client_max_window_bits=15", false),
        ("permessage-deflate; server_max_window_bits=7", false),
        ("permessage-deflate; x_unknown", false),
        (
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            false,
        ),
        ("permessage-deflate; server_no_context_takeover=1", false),
        ("permessage-deflate, permessage-deflate", false),
        ("x-webkit-deflate-frame", false),
    ] {
        let answer_s = answer.to_string();
        let offer = Arc::new(Mutex::new(None));
        let srv = Server::start(move |c: &mut Conn| {
            if upgrade(c, Some(&answer_s), &offer) {
                let _ = c.read_to_eof();
            }
        });
        let (_m, _id, r) = connect(&srv, Some(offered), 1 << 20);
        match (ok, r) {
            (true, Ok(())) => {}
            (false, Err(e)) => {
                assert_eq!(e.kind(), ErrorKind::WeirdServerReply, "{answer}: {e}");
                assert!(e.to_string().contains("permessage-deflate"), "{e}");
            }
            (_, r) => panic!("{answer}: {r:?}"),
        }
    }
    // An extension answer without an offer is refused as before.
    let offer = Arc::new(Mutex::new(None));
    let srv = Server::start(move |c: &mut Conn| {
        if upgrade(c, Some("permessage-deflate"), &offer) {
            let _ = c.read_to_eof();
        }
    });
    let (_m, _id, r) = connect(&srv, None, 1 << 20);
    assert_eq!(r.unwrap_err().kind(), ErrorKind::WeirdServerReply);
}

/// The server sends compressed messages (and fragments), then echoes what the client sends
/// back as it saw it: (rsv1 of the first frame, inflated payload).
fn exchange(answer: &'static str, server_nct: bool, client_nct: bool) {
    type Seen = Vec<(bool, u8, Vec<u8>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let s2 = seen.clone();
    let srv = Server::start(move |c: &mut Conn| {
        let offer = Mutex::new(None);
        if !upgrade(c, Some(answer), &offer) {
            return;
        }
        let mut z = Compress::new(Compression::default(), false);
        let mut out = Vec::new();
        for msg in [json(1000), json(1000), json(300_000)] {
            out.extend(frame(true, true, 1, &deflate(&mut z, &msg, true)));
            if server_nct {
                z.reset();
            }
        }
        // A fragmented compressed binary message with a ping in between, then an
        // uncompressed one.
        out.extend(frame(false, true, 2, &deflate(&mut z, &[1u8; 5000], false)));
        out.extend(frame(true, false, 9, b"ping"));
        out.extend(frame(true, false, 0, &deflate(&mut z, &[2u8; 5000], true)));
        out.extend(frame(true, false, 1, b"plain"));
        c.write_all(&out).unwrap();
        let mut d = Decompress::new(false);
        let mut cur: Option<(bool, u8, Vec<u8>)> = None;
        while let Some((fin, rsv1, op, p)) = read_frame(c) {
            match op {
                8 => {
                    let _ = c.write_all(&frame(true, false, 8, &p));
                    break;
                }
                9 | 10 => continue,
                _ => {}
            }
            if op != 0 {
                cur = Some((rsv1, op, p));
            } else {
                assert!(!rsv1, "RSV1 on a continuation frame");
                cur.as_mut().unwrap().2.extend_from_slice(&p);
            }
            if fin {
                let (z, op, p) = cur.take().unwrap();
                let p = if z {
                    let r = inflate(&mut d, &p);
                    if client_nct {
                        d.reset(false);
                    }
                    r
                } else {
                    p
                };
                s2.lock().unwrap().push((z, op, p));
            }
        }
    });
    let (mut m, id, r) = connect(
        &srv,
        Some(DeflateConfig {
            threshold: 64,
            ..DeflateConfig::default()
        }),
        64 << 20,
    );
    r.unwrap();
    let got = recv_messages(&mut m, id, 5).unwrap();
    let mut frag = vec![1u8; 5000];
    frag.extend([2u8; 5000]);
    let want = vec![
        (TEXT, json(1000)),
        (TEXT, json(1000)),
        (TEXT, json(300_000)),
        (BINARY, frag),
        (TEXT, b"plain".to_vec()),
    ];
    assert!(got == want, "received messages differ");
    {
        let mut ws = m.ws(id).unwrap();
        ws.send(&json(2000), TEXT).unwrap();
        ws.send(&json(2000), TEXT).unwrap();
        ws.send(b"short", TEXT).unwrap();
        ws.send(&json(700), BINARY | CONT).unwrap();
        ws.send(&json(700), BINARY).unwrap();
        ws.close(1000, "").unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().len() < 4 {
        m.poll(Some(Duration::from_millis(20))).unwrap();
        assert!(Instant::now() < deadline, "echo not seen");
    }
    let seen = seen.lock().unwrap().clone();
    let mut frag = json(700);
    frag.extend(json(700));
    assert!(
        seen == vec![
            (true, 1, json(2000)),
            (true, 1, json(2000)),
            (false, 1, b"short".to_vec()),
            (true, 2, frag),
        ],
        "{answer}"
    );
}

#[test]
fn compressed_messages_with_context_takeover() {
    exchange("permessage-deflate", false, false);
}

#[test]
fn compressed_messages_without_context_takeover() {
    exchange(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        true,
        true,
    );
}

#[test]
fn decompression_bomb_closes_with_1009() {
    let close: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let c2 = close.clone();
    let srv = Server::start(move |c: &mut Conn| {
        let offer = Mutex::new(None);
        if !upgrade(c, Some("permessage-deflate"), &offer) {
            return;
        }
        let mut z = Compress::new(Compression::best(), false);
        let bomb = deflate(&mut z, &vec![0u8; 8 << 20], true);
        assert!(bomb.len() < 20_000);
        if c.write_all(&frame(true, true, 2, &bomb)).is_err() {
            return;
        }
        while let Some((_, _, op, p)) = read_frame(c) {
            if op == 8 {
                *c2.lock().unwrap() = Some(p);
                break;
            }
        }
    });
    let (mut m, id, r) = connect(&srv, Some(DeflateConfig::default()), 1 << 20);
    r.unwrap();
    match recv_messages(&mut m, id, 1) {
        Err(WsError::Protocol(e)) => assert_eq!(e.close_code(), 1009),
        other => panic!("{other:?}"),
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while close.lock().unwrap().is_none() {
        m.poll(Some(Duration::from_millis(20))).unwrap();
        assert!(Instant::now() < deadline, "no close frame");
    }
    assert_eq!(
        close.lock().unwrap().as_deref(),
        Some(&1009u16.to_be_bytes()[..])
    );
}

#[test]
fn rsv1_without_negotiation_fails_with_1002() {
    let srv = Server::start(move |c: &mut Conn| {
        let offer = Mutex::new(None);
        if upgrade(c, None, &offer) {
            let _ = c.write_all(&frame(true, true, 1, b"\x00"));
            let _ = c.read_to_eof();
        }
    });
    let (mut m, id, r) = connect(&srv, Some(DeflateConfig::default()), 1 << 20);
    r.unwrap();
    match recv_messages(&mut m, id, 1) {
        Err(WsError::Protocol(e)) => assert_eq!(e.close_code(), 1002),
        other => panic!("{other:?}"),
    }
}

/// The callback model and message mode get inflated data too.
#[test]
fn callback_and_message_mode_receive_inflated_messages() {
    for message_mode in [false, true] {
        let offer = Arc::new(Mutex::new(None));
        let o2 = offer.clone();
        let srv = Server::start(move |c: &mut Conn| {
            if !upgrade(c, Some("permessage-deflate"), &o2) {
                return;
            }
            let mut z = Compress::new(flate2::Compression::default(), false);
            let big = json(5000);
            let a = deflate(&mut z, b"small message", true);
            let b = deflate(&mut z, &big, true);
            let mut out = frame(true, true, 1, &a);
            out.extend(frame(true, true, 1, &b));
            let _ = c.write_all(&out);
            while let Some((_, _, op, _)) = read_frame(c) {
                if op == 8 {
                    let _ = c.write_all(&frame(true, false, 8, &[0x03, 0xe8]));
                    break;
                }
            }
        });
        #[derive(Default)]
        struct Got {
            cur: Vec<u8>,
            msgs: Vec<Vec<u8>>,
        }
        impl Got {
            fn done(&mut self, ctx: &mut Ctx<'_>) {
                if self.msgs.len() == 2 {
                    ctx.ws().unwrap().close(1000, "").unwrap();
                }
            }
        }
        impl Handler for Got {
            fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
                let meta = ctx.ws_meta().unwrap();
                if meta.is_close() {
                    return Flow::Continue;
                }
                self.cur.extend_from_slice(data);
                if meta.is_message_end() {
                    self.msgs.push(std::mem::take(&mut self.cur));
                    self.done(ctx);
                }
                Flow::Continue
            }
            fn ws_message(
                &mut self,
                ctx: &mut Ctx<'_>,
                msg: &[u8],
                f: curlew::ws::WsFrame,
            ) -> Flow {
                if !f.is_close() {
                    self.msgs.push(msg.to_vec());
                    self.done(ctx);
                }
                Flow::Continue
            }
        }
        let mut e = Easy::with_handler(&ws_url(&srv), Got::default()).unwrap();
        e.ws_compress(Some(DeflateConfig::default())).unwrap();
        e.ws_message_mode(message_mode);
        e.perform().unwrap();
        let g = e.handler::<Got>().unwrap();
        assert_eq!(g.msgs.len(), 2, "message mode {message_mode}");
        assert_eq!(g.msgs[0], b"small message");
        assert_eq!(g.msgs[1], json(5000));
    }
}
