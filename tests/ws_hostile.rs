//! A scripted hostile server for every RFC 6455 violation: each must fail the transfer with
//! `ErrorKind::WsProtocol` and make the client send a close frame with the right code.

mod support;

use std::sync::{Arc, Mutex};

use curlew::{Easy, ErrorKind};
use support::http_server::{Conn, Server};

/// Reads one masked client frame: (opcode, unmasked payload).
fn read_client_frame(c: &mut Conn) -> Option<(u8, Vec<u8>)> {
    let h = c.read_exact_bytes(2).ok()?;
    let op = h[0] & 0x0f;
    assert!(h[1] & 0x80 != 0, "client frames are masked");
    let len = match h[1] & 0x7f {
        126 => {
            let b = c.read_exact_bytes(2).ok()?;
            u16::from_be_bytes([b[0], b[1]]) as usize
        }
        127 => {
            let b = c.read_exact_bytes(8).ok()?;
            u64::from_be_bytes(b.try_into().ok()?) as usize
        }
        n => n as usize,
    };
    let key = c.read_exact_bytes(4).ok()?;
    let mut p = c.read_exact_bytes(len).ok()?;
    for (i, b) in p.iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
    Some((op, p))
}

/// Upgrade, send `evil`, then record the close code the client sends back.
fn hostile(evil: Vec<u8>) -> (Server, Arc<Mutex<Option<u16>>>) {
    let code = Arc::new(Mutex::new(None));
    let c2 = code.clone();
    let srv = Server::start(move |c: &mut Conn| {
        let Some(req) = c.read_request() else { return };
        let key = req
            .header("sec-websocket-key")
            .unwrap_or_default()
            .to_string();
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
            support::ws_accept(&key)
        );
        let _ = c.write_all(head.as_bytes());
        let _ = c.write_all(&evil);
        while let Some((op, p)) = read_client_frame(c) {
            if op == 8 {
                let code = (p.len() >= 2).then(|| u16::from_be_bytes([p[0], p[1]]));
                *c2.lock().unwrap() = code;
                break;
            }
        }
    });
    (srv, code)
}

fn check(evil: Vec<u8>, want_code: u16, configure: impl FnOnce(&mut Easy)) {
    let (srv, code) = hostile(evil);
    let mut e = Easy::new(&srv.url("/").replace("http://", "ws://")).unwrap();
    e.timeout(Some(std::time::Duration::from_secs(10)));
    configure(&mut e);
    let err = e
        .perform()
        .expect_err("a protocol violation fails the transfer");
    assert_eq!(err.kind(), ErrorKind::WsProtocol, "{err}");
    drop(srv); // joins the server thread, which has read our close frame
    assert_eq!(
        *code.lock().unwrap(),
        Some(want_code),
        "close code sent ({err})"
    );
}

fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![first, payload.len() as u8];
    v.extend_from_slice(payload);
    v
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
    check(frame(0x88, &[0x03, 0xed]), 1002, |_| {}); // 1005 is never sent on the wire
}

#[test]
fn close_payload_of_one_byte_1002() {
    check(frame(0x88, &[0x03]), 1002, |_| {});
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
    check(v, 1009, |e| {
        e.ws_max_message_size(1000);
    });
}

#[test]
fn huge_frame_header_1009() {
    // 2^62 bytes announced: refused up front against the frame limit, never buffered.
    let mut v = vec![0x82, 127];
    v.extend_from_slice(&(1u64 << 62).to_be_bytes());
    check(v, 1009, |e| {
        e.ws_max_frame_size(1 << 20);
    });
}
