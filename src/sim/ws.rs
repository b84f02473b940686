//! WebSocket for the test's side of a simulated connection: answer the upgrade, read the
//! client's (masked) frames, send unmasked ones. Small frames only, enough for control
//! frames and short messages; written here, apart from the library's codec.

use base64::Engine as _;
use sha1::{Digest as _, Sha1};

use super::net::Peer;

/// Opcodes (RFC 6455 §5.2).
pub(crate) const TEXT: u8 = 0x1;
pub(crate) const CLOSE: u8 = 0x8;
pub(crate) const PING: u8 = 0x9;
pub(crate) const PONG: u8 = 0xA;

/// The `Sec-WebSocket-Accept` value for `key` (RFC 6455 §4.2.2).
fn accept(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

impl Peer {
    /// Read the upgrade request and switch protocols.
    #[track_caller]
    pub(crate) fn ws_upgrade(&mut self) {
        let req = self.request();
        let key = req.header("sec-websocket-key").expect("a WebSocket key");
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            accept(key)
        );
        self.write(head.as_bytes());
    }

    /// The next whole frame from the client, unmasked: `(opcode, payload)`; `None` while
    /// incomplete.
    pub(crate) fn ws_read(&mut self) -> Option<(u8, Vec<u8>)> {
        let buf = self.unread();
        let (&b0, &b1) = (buf.first()?, buf.get(1)?);
        assert!(b1 & 0x80 != 0, "client frames are masked");
        let (len, at) = match b1 & 0x7f {
            126 => (
                usize::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
                4,
            ),
            127 => panic!("no large frames in the simulation"),
            n => (usize::from(n), 2),
        };
        let key = buf.get(at..at + 4)?;
        let data = buf.get(at + 4..at + 4 + len)?;
        let payload = data
            .iter()
            .zip(key.iter().cycle())
            .map(|(b, k)| b ^ k)
            .collect();
        self.consume(at + 4 + len);
        Some((b0 & 0x0f, payload))
    }

    /// Send a final frame with `opcode` and a payload of at most 125 bytes.
    pub(crate) fn ws_send(&mut self, opcode: u8, payload: &[u8]) {
        let len = u8::try_from(payload.len())
            .ok()
            .filter(|&n| n < 126)
            .expect("a small frame");
        self.write(&[0x80 | opcode, len]);
        self.write(payload);
    }
}
