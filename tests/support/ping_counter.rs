//! A WebSocket server for keepalive tests: it completes the upgrade, then reads the client's
//! frames with a minimal decoder of its own (not the library's codec), counts the pings,
//! answers each with a pong or stays silent, and records the code of the client's close.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::http_server::{Conn, Server};

/// What the server saw on its connection.
#[derive(Default)]
struct Seen {
    pings: AtomicUsize,
    close: Mutex<Option<Option<u16>>>,
}

/// A running ping-counting server (one WebSocket connection at a time is enough for tests).
pub struct PingCounter {
    server: Server,
    seen: Arc<Seen>,
}

impl PingCounter {
    /// Start a server that answers every ping with a pong (`answer`) or never does.
    pub fn start(answer: bool) -> PingCounter {
        let seen = Arc::new(Seen::default());
        let s = seen.clone();
        let server = Server::start(move |c: &mut Conn| {
            if upgrade(c) {
                serve(c, answer, &s);
            }
        });
        PingCounter { server, seen }
    }

    /// `ws://127.0.0.1:PORT/path`
    pub fn url(&self, path: &str) -> String {
        self.server.url(path).replace("http://", "ws://")
    }

    /// Pings received so far.
    pub fn pings(&self) -> usize {
        self.seen.pings.load(Ordering::SeqCst)
    }

    /// `Some(code)` once a close frame arrived (`Some(None)`: a close without a code).
    pub fn close(&self) -> Option<Option<u16>> {
        *self.seen.close.lock().unwrap()
    }
}

/// Answer the upgrade request with a 101.
fn upgrade(c: &mut Conn) -> bool {
    let Some(req) = c.read_request() else {
        return false;
    };
    let key = req.header("sec-websocket-key").unwrap_or_default();
    let accept = super::ws_accept(key);
    c.write_all(
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .as_bytes(),
    )
    .is_ok()
}

/// Read frames until EOF, a read timeout or the client's close.
fn serve(c: &mut Conn, answer: bool, seen: &Seen) {
    while let Some((opcode, payload)) = read_frame(c) {
        match opcode {
            0x9 => {
                seen.pings.fetch_add(1, Ordering::SeqCst);
                if answer {
                    let mut pong = vec![0x8a, payload.len() as u8];
                    pong.extend_from_slice(&payload);
                    if c.write_all(&pong).is_err() {
                        return;
                    }
                }
            }
            0x8 => {
                let code =
                    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                *seen.close.lock().unwrap() = Some(code);
                return;
            }
            _ => {}
        }
    }
}

/// One client frame (masked, as RFC 6455 requires of clients): its opcode and unmasked payload.
fn read_frame(c: &mut Conn) -> Option<(u8, Vec<u8>)> {
    let head = c.read_exact_bytes(2).ok()?;
    assert!(head[1] & 0x80 != 0, "client frame without a mask");
    let len = match head[1] & 0x7f {
        126 => {
            let b = c.read_exact_bytes(2).ok()?;
            u64::from(u16::from_be_bytes([b[0], b[1]]))
        }
        127 => u64::from_be_bytes(c.read_exact_bytes(8).ok()?.try_into().ok()?),
        n => u64::from(n),
    };
    assert!(len <= 1 << 20, "test frames are small");
    let key = c.read_exact_bytes(4).ok()?;
    let mut payload = c.read_exact_bytes(len as usize).ok()?;
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
    Some((head[0] & 0x0f, payload))
}
